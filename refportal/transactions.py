"""Where transactions end: the one module that commits or rolls back the session.

- **A request** is one transaction (as indico's request handler): the view runs its services, which
  flush but never commit; once the view has returned, the request commits (`install_request_transaction`);
  if the view raises (an error, an abort), what it changed is rolled back. A service's refusal is caught
  by `attempt()`, which rolls back what the request changed so far and hands the refusal to the view to
  show; what the request records after it (a file's reading while the page is drawn, an API key's use) is
  committed at its end. A request answered with a server error keeps nothing, except what is recorded
  through `keep_after_failure()` (an API key's use); a request whose commit fails keeps nothing in the
  browser either (its session, flashed messages included, is the one it came with).
- **Outside a request** (a worker job, the mail sender's marks, a command), `with unit_of_work():`
  commits on success and rolls back on any error.
- **A streamed response** (a CSV export sent as it is written) is produced after the request has
  committed: `read_only()` wraps its body, which reads in a transaction of its own (ended, with nothing
  to keep, when the response is closed and the request's session removed) and may not commit.
- Anything else that commits fails: while a view, a unit of work or a streamed body runs, the session
  refuses a commit not made here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request, session
from sqlalchemy.orm import Session

from refportal.exceptions import Refused
from refportal.extensions import db

T = TypeVar("T")

# True while this module commits; the guard refuses every other commit in a request or a unit of work.
_committing: ContextVar[bool] = ContextVar("committing", default=False)
_guarded: ContextVar[bool] = ContextVar("guarded", default=False)  # a view, a unit of work or a streamed body runs


class StrayCommit(RuntimeError):
    """A commit outside the request's end and the units of work: services never commit."""


def _commit() -> None:
    token = _committing.set(True)
    try:
        db.session.commit()
    finally:
        _committing.reset(token)


def rollback() -> None:
    """Throw away what the session holds (after an error, or a refusal)."""
    db.session.rollback()


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Outside a request: the block's changes are committed together, or rolled back on any error."""
    token = _guarded.set(True)
    try:
        yield
        _commit()
    except BaseException:
        rollback()
        raise
    finally:
        _guarded.reset(token)


def read_only(chunks: Iterable[T]) -> Iterator[T]:
    """A response body produced while it is sent, after the request's commit (Flask's
    stream_with_context keeps the request's context for it): it only reads, so a commit made while it
    produces a chunk raises StrayCommit."""
    iterator = iter(chunks)
    while True:
        token = _guarded.set(True)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            _guarded.reset(token)
        yield chunk


@dataclass(frozen=True)
class Result(Generic[T]):
    """What one service call came to: its result, or the rule that refused it."""

    value: T | None = None
    refusal: Refused | None = None

    @property
    def done(self) -> bool:
        return self.refusal is None


def attempt(action: Callable[[], T]) -> Result[T]:
    """Run a service call in the request's transaction; a refusal rolls back what the request changed so
    far (so call it before recording anything else) and is handed back. (The request commits at its end.)"""
    try:
        return Result(value=action())
    except Refused as refusal:
        rollback()
        return Result(refusal=refusal)


def keep_after_failure(action: Callable[[], None]) -> None:
    """For a request answered with a server error, whose changes are not kept: throw them away, then record
    `action`'s writes on their own (an audit record that must outlive the failure)."""
    rollback()
    try:
        action()
        _commit()
    except Exception:
        rollback()
        logging.getLogger(__name__).exception("a record kept after a failed request could not be written")


def _forget_the_requests_session() -> None:
    """The browser's session as the request brought it: a failed commit keeps no flash, login or logout."""
    brought = current_app.session_interface.open_session(current_app, request)
    session.clear()
    session.update(brought or {})
    g.pop("_login_user", None)  # Flask-Login loads the user again from that session


def install_request_transaction(app: Flask) -> None:
    """One commit per request: after the view returned; its changes rolled back if it raised."""

    def transactional(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            token = _guarded.set(True)
            try:
                return view(*args, **kwargs)
            except BaseException:
                rollback()  # an abort() or an error: nothing the view changed is kept
                raise
            finally:
                _guarded.reset(token)

        return wrapped

    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = transactional(view)

    @app.after_request
    def _commit_the_request(response: Response) -> Response:
        if response.status_code < 500:
            try:
                _commit()
            except Exception:  # the error page follows, with nothing of this request kept
                rollback()
                _forget_the_requests_session()
                raise
        return response

    if not sa.event.contains(db.session, "before_commit", _refuse_stray_commits):
        sa.event.listen(db.session, "before_commit", _refuse_stray_commits)


def _refuse_stray_commits(session: Session) -> None:
    """While a view or a unit of work runs, a commit made anywhere but here raises."""
    if _committing.get() or not _guarded.get():
        return
    raise StrayCommit("a commit outside the request's end or a unit of work (refportal.transactions)")
