"""POST /payments/stripe/webhook: Stripe tells of a Checkout Session paid, or expired.

A machine endpoint: no session, no CSRF token; the `Stripe-Signature` header, checked by the
`stripe` library with STRIPE_WEBHOOK_SECRET and STRIPE_WEBHOOK_TOLERANCE (an older timestamp is a
replay), is what makes an event believed. JSON answers. Online payment off: the address does not
exist (404). A bad or missing signature: 400, nothing changed. Every event with a good signature is
answered 200 (a repeat: "already handled"; an event it does not act on: "ignored"), so Stripe stops
sending it; 503 only when the database cannot take it now (Stripe sends it again later).
"""

from __future__ import annotations

import json

import stripe
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from refportal.errors import register_error_format
from refportal.extensions import csrf, db, limiter
from refportal.payments import checkout
from refportal.payments.gateway import online_payment_enabled
from refportal.transactions import rollback

hooks_bp = Blueprint("payment_hooks", __name__, url_prefix="/payments/stripe")


def install_payment_hooks(app: Flask) -> None:
    app.register_blueprint(hooks_bp)
    register_error_format(app, "/payments/stripe/", http_error=_http_error, unexpected=_retry_later)


def _answer(status: int, **body: object) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _retry_later() -> Response:
    return _answer(503, error="the event could not be recorded now; send it again later")


def _http_error(error: HTTPException) -> Response:
    if error.code is None or error.code >= 500:
        return _retry_later()
    return _answer(error.code, error=error.name.lower())


@hooks_bp.post("/webhook")
@csrf.exempt
@limiter.limit(lambda: current_app.config["STRIPE_WEBHOOK_LIMIT"])
def stripe_webhook() -> Response:
    if not online_payment_enabled():
        return _answer(404, error="not found")
    payload = request.get_data(cache=False)
    signature = request.headers.get("Stripe-Signature")
    if not signature:
        return _answer(400, error="no Stripe-Signature header")
    config = current_app.config
    try:
        # The library's check of Stripe's signature scheme (HMAC-SHA256 of "<t>.<body>", constant-time,
        # the timestamp within the tolerance); the body is then read as plain JSON.
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature, config["STRIPE_WEBHOOK_SECRET"], config["STRIPE_WEBHOOK_TOLERANCE"]
        )
    except stripe.SignatureVerificationError:
        current_app.logger.warning("stripe webhook: a signature that does not check (or too old) refused")
        return _answer(400, error="the signature does not check, or its timestamp is outside the tolerance")
    except UnicodeDecodeError:
        return _answer(400, error="the body is not a Stripe event")
    fields = _fields(payload)
    if fields is None:
        return _answer(400, error="the body is not a Stripe event")
    event_id, event_type, session = fields
    try:
        outcome = checkout.handle_event(event_id, event_type, session)
        db.session.flush()  # what the database refuses, refused here (the request commits at its end)
    except Exception:
        rollback()
        current_app.logger.exception("stripe event %s not recorded", event_id)
        return _retry_later()
    return _answer(200, event=event_id, outcome=outcome)


def _fields(payload: bytes) -> tuple[str, str, dict] | None:
    """The event's id, type and object, read from the signed body as plain JSON."""
    try:
        body = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    event_id, event_type = body.get("id"), body.get("type")
    data = body.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str) or not isinstance(obj, dict):
        return None
    return event_id, event_type, obj
