"""POST /hooks/bounces: an inbound-mail service hands over one raw delivery report (RFC 822).

A machine endpoint: `Authorization: Bearer <BOUNCE_WEBHOOK_SECRET>` instead of a session and a CSRF
token; JSON answers; no cookie. Without BOUNCE_WEBHOOK_SECRET the address does not exist (404).
202 for every report it took in, also for those it ignores (the sender must not retry them) and those
that cannot be recorded through their own fault (outcome "rejected": sent again, they would fail
again). 503 only when the database cannot take the report now (unreachable, not ready): the
service sends it again later.
"""

from __future__ import annotations

import email.policy
import hmac
from email.parser import BytesHeaderParser

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from refportal.errors import register_error_format
from refportal.extensions import csrf, db, limiter
from refportal.mail.bounces import record_bounce_report, report_at_fault
from refportal.transactions import rollback

hooks_bp = Blueprint("hooks", __name__, url_prefix="/hooks")


def install_hooks(app: Flask) -> None:
    """The machine endpoints, answering JSON for every error too: an HTTP error as itself, a failure (a
    database lost at the request's commit, after the view answered) as 503, so the service retries."""
    app.register_blueprint(hooks_bp)
    register_error_format(app, "/hooks/", http_error=_http_error, unexpected=_retry_later)


def _retry_later() -> Response:
    return _answer(503, error="the report could not be recorded now; send it again later")


def _http_error(error: HTTPException) -> Response:
    if error.code is None or error.code >= 500:
        return _retry_later()
    return _answer(error.code, error=error.name.lower())


def _answer(status: int, **body: object) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _authorized() -> bool:
    secret = current_app.config["BOUNCE_WEBHOOK_SECRET"]
    given = request.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), secret.encode())


def _looks_like_a_message(raw: bytes) -> bool:
    """It starts with headers. (Only the headers are parsed here: the body's MIME parts, which may nest
    thousands deep, are the report parser's business, and it never raises.)"""
    if not raw.strip():
        return False
    return len(BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw).keys()) > 0


@hooks_bp.post("/bounces")
@csrf.exempt
@limiter.limit(lambda: current_app.config["BOUNCE_WEBHOOK_LIMIT"])
def bounces() -> Response:
    """Take in one delivery report and act on it (see refportal.mail.bounces)."""
    if not current_app.config.get("BOUNCE_WEBHOOK_SECRET"):
        return _answer(404, error="not found")
    if not _authorized():
        response = _answer(401, error="a valid bearer token is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="bounces"'
        return response
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _answer(413, error="the report is larger than MAX_CONTENT_LENGTH")
    if not _looks_like_a_message(raw):
        return _answer(400, error="the body is not an RFC 822 message")
    try:
        verdict = record_bounce_report(raw, source="webhook")
        db.session.flush()  # what the database refuses, refused here (the request commits at its end)
    except Exception as exc:
        rollback()
        current_app.logger.exception("bounce report not recorded")
        if report_at_fault(exc):
            return _answer(202, outcome="rejected", outbox_id=None, error="the report cannot be recorded")
        # Not the report's fault: the database is unavailable. 503 so the service retries it later.
        return _retry_later()
    return _answer(202, outcome=verdict.kind, outbox_id=verdict.outbox_id if verdict.kind != "ignore" else None)
