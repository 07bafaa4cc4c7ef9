"""Helpers every slice's views share: refusals on forms, safe redirects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from flask import flash

from refportal.exceptions import Refused
from refportal.extensions import db

T = TypeVar("T")


def show_refusal(form: Any, refusal: Refused) -> None:
    """Put a service's refusal on the field it names, or on the form as a whole."""
    field = getattr(form, refusal.field, None) if refusal.field else None
    if field is not None:
        field.errors = [*field.errors, refusal.message]
    else:
        form.form_errors.append(refusal.message)


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What one service call came to: its result, or the rule that refused it."""

    result: T | None = None
    refusal: Refused | None = None

    @property
    def done(self) -> bool:
        return self.refusal is None


def commit(action: Callable[[], T]) -> Outcome[T]:
    """The request's one transaction: run the service call and commit, or roll back and hand back its
    refusal. Any other error rolls back too and goes on to the error page."""
    try:
        result = action()
        db.session.commit()
    except Refused as refusal:
        db.session.rollback()
        return Outcome(refusal=refusal)
    except BaseException:
        db.session.rollback()
        raise
    return Outcome(result=result)


def commit_service(form: Any, service: Callable[..., T], /, **arguments: Any) -> tuple[bool, T | None]:
    """commit() for a valid form: (True, result), or (False, None) with the refusal shown on the form."""
    outcome = commit(lambda: service(**arguments))
    if outcome.refusal is not None:
        show_refusal(form, outcome.refusal)
    return outcome.done, outcome.result


def run_and_flash(action: Callable[[], object], success: str) -> bool:
    """commit() for a one-button action: flash `success`, or why it was refused."""
    outcome = commit(action)
    if outcome.refusal is not None:
        flash(outcome.refusal.message, "error")
    else:
        flash_success(success)
    return outcome.done


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after login, or None (no open redirects)."""
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def flash_success(message: str) -> None:
    flash(message, "success")
