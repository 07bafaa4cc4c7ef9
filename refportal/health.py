"""/healthz and /readyz for load balancers and uptime monitors: JSON, no session, no cookie.

/healthz says the process answers (it touches nothing else). /readyz says the portal can do its
work: the database answers within READY_DATABASE_TIMEOUT_SECONDS, its schema is at the migrations'
head, and the oldest message waiting in the outbox is younger than READY_MAX_OUTBOX_AGE_SECONDS
(else the worker is not sending)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, jsonify

from refportal.db import utcnow
from refportal.extensions import db
from refportal.mail.models import OutboxEmail, OutboxStatus
from refportal.startup import migration_heads, schema_problem

bp = Blueprint("health", __name__)

# One thread answers the database checks, so a database that hangs holds up no more than that one.
_checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readyz")


def _answer(code: int, **body: object) -> Response:
    response = jsonify(body)
    response.status_code = code
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """The process is alive (no database involved)."""
    return _answer(200, status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """Ready to serve: database reachable in time, schema current, outbox moving."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]  # the app, for the thread
    timeout = app.config["READY_DATABASE_TIMEOUT_SECONDS"]
    future = _checker.submit(_database_checks, app)
    try:
        checks = future.result(timeout=timeout)
    except FutureTimeout:
        checks = {"database": f"no answer within {timeout} s"}
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is "not ready"
        checks = {"database": f"unreachable: {type(exc).__name__}"}
    ready = all(value == "ok" or value.startswith("ok") for value in checks.values())
    return _answer(200 if ready else 503, status="ready" if ready else "not ready", checks=checks)


def _database_checks(app: Flask) -> dict[str, str]:
    with app.app_context():
        checks = {"database": "ok"}
        try:
            with db.engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    timeout_ms = app.config["READY_DATABASE_TIMEOUT_SECONDS"] * 1000
                    connection.execute(sa.text(f"SET LOCAL statement_timeout = {int(timeout_ms)}"))
                problem = schema_problem(connection, _heads(app))
                checks["schema"] = problem or "ok"
                checks["outbox"] = _outbox_check(connection, app) if problem is None else "not checked"
        finally:
            db.session.remove()
        return checks


def _heads(app: Flask) -> set[str]:
    heads = app.extensions.get("refportal.migration_heads")
    if heads is None:
        heads = app.extensions["refportal.migration_heads"] = migration_heads()
    return heads


def _outbox_check(connection: sa.Connection, app: Flask) -> str:
    if not app.config.get("MAIL_SERVER"):
        return "ok (no MAIL_SERVER: messages stay in the outbox)"
    now = utcnow()
    oldest: datetime | None = connection.scalar(
        sa.select(sa.func.min(OutboxEmail.next_attempt_at)).where(
            OutboxEmail.status == OutboxStatus.QUEUED, OutboxEmail.next_attempt_at <= now
        )
    )
    if oldest is None:
        return "ok"
    if oldest.tzinfo is None:  # a plain aggregate comes back without the column type's conversion
        oldest = oldest.replace(tzinfo=now.tzinfo)
    limit = timedelta(seconds=app.config["READY_MAX_OUTBOX_AGE_SECONDS"])
    waiting = now - oldest
    if waiting > limit:
        return (
            f"a message has waited {int(waiting.total_seconds())} s to be sent (limit {int(limit.total_seconds())} s)"
        )
    return "ok"
