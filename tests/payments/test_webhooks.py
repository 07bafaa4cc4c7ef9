"""The Stripe webhook: only a signed, recent event is believed; each event acts once; each session
pays once; an amount other than the session's is rejected. Against the Stripe stand-in."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa

from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.extensions import db
from tests.payments.helpers import (
    WEBHOOK,
    applicant_with_fees,
    checkouts,
    events,
    owed,
    payments,
    session_of,
)
from tests.payments.stripe_standin import event, sign


def opened(app, standin):
    """A payer with an open session; returns (payer, the session at the stand-in, what is owed)."""
    payer = applicant_with_fees(app)
    session_id = session_of(payer.pay())
    return payer, standin.sessions[session_id], owed(app, payer.account_id)


def paid(standin, session):
    session.update(status="complete", payment_status="paid", payment_intent="pi_test_paid")
    return session


def post(app, payload: str, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return app.test_client().post(WEBHOOK, data=payload.encode(), headers=headers)


def receipts(outbox) -> int:
    return [row.template for row in outbox("a@example.org")].count("payment_receipt")


def test_a_signed_completed_event_records_the_payment_once(paying_app, standin, outbox):
    payer, session, due = opened(paying_app, standin)
    payload = event("checkout.session.completed", paid(standin, session), "evt_once")
    response = post(paying_app, payload, sign(payload, standin.webhook_secret))
    assert response.status_code == 200
    assert response.json["outcome"].startswith("paid: R-")
    assert [p[:3] for p in payments(paying_app, payer.account_id)] == [(due, "card", "pi_test_paid")]
    assert checkouts(paying_app, payer.account_id)[0][2] == "paid"
    # The same event again (Stripe retries): acknowledged, nothing more.
    again = post(paying_app, payload, sign(payload, standin.webhook_secret))
    assert again.status_code == 200 and again.json["outcome"] == "already handled"
    # Another event about the same session (async_payment_succeeded): acknowledged, nothing more.
    other = event("checkout.session.async_payment_succeeded", session, "evt_other")
    third = post(paying_app, other, sign(other, standin.webhook_secret))
    assert third.status_code == 200 and third.json["outcome"] == "already paid"
    assert len(payments(paying_app, payer.account_id)) == 1
    assert receipts(outbox) == 1
    recorded = events(paying_app)
    assert recorded["evt_once"].startswith("paid: R-") and recorded["evt_other"] == "already paid"
    assert owed(paying_app, payer.account_id) == 0


def test_signatures_that_do_not_check_change_nothing(paying_app, standin, outbox):
    payer, session, due = opened(paying_app, standin)
    payload = event("checkout.session.completed", paid(standin, session))
    now = int(time.time())
    refused = {
        "no header": None,
        "empty header": "",
        "forged": f"t={now},v1={'0' * 64}",
        "wrong secret": sign(payload, "whsec_someone_else"),
        "replay older than the tolerance": sign(payload, standin.webhook_secret, timestamp=now - 301),
        "garbage": "not a signature",
        "another body": sign(payload.replace("paid", "unpaid"), standin.webhook_secret),
    }
    for name, signature in refused.items():
        response = post(paying_app, payload, signature)
        assert response.status_code == 400, name
        assert response.json["error"], name
    assert payments(paying_app, payer.account_id) == []
    assert events(paying_app) == {}
    assert receipts(outbox) == 0
    # Within the tolerance it is believed.
    fresh = post(paying_app, payload, sign(payload, standin.webhook_secret, timestamp=now - 200))
    assert fresh.status_code == 200
    assert len(payments(paying_app, payer.account_id)) == 1


def test_an_unknown_session_is_acknowledged_and_changes_nothing(paying_app, standin):
    payer, session, _ = opened(paying_app, standin)
    stranger = {**paid(standin, dict(session)), "id": "cs_test_nobody"}
    payload = event("checkout.session.completed", stranger, "evt_unknown")
    response = post(paying_app, payload, sign(payload, standin.webhook_secret))
    assert response.status_code == 200 and response.json["outcome"] == "unknown session"
    assert payments(paying_app, payer.account_id) == []
    assert checkouts(paying_app, payer.account_id)[0][2] == "open"


def test_an_amount_other_than_the_sessions_is_rejected(paying_app, standin, outbox):
    payer, session, due = opened(paying_app, standin)
    assert standin.pay(session["id"], amount_total=due - 1) == 200
    assert payments(paying_app, payer.account_id) == []
    assert checkouts(paying_app, payer.account_id)[0][2] == "rejected"
    with paying_app.app_context():
        [rejected] = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == AuditAction.FEE_CHECKOUT_REJECTED)
        ).all()
        assert rejected.details["reported"] == f"{due - 1} USD"
    # The right amount afterwards does not revive it; a wrong currency is rejected the same way.
    fixed = event("checkout.session.completed", {**session, "amount_total": due})
    assert post(paying_app, fixed, sign(fixed, standin.webhook_secret)).json["outcome"] == "already rejected"
    assert payments(paying_app, payer.account_id) == [] and receipts(outbox) == 0
    assert owed(paying_app, payer.account_id) == due


def test_a_wrong_currency_is_rejected(paying_app, standin):
    payer, session, due = opened(paying_app, standin)
    payload = event("checkout.session.completed", {**paid(standin, session), "currency": "eur"})
    assert post(paying_app, payload, sign(payload, standin.webhook_secret)).status_code == 200
    assert payments(paying_app, payer.account_id) == []
    assert checkouts(paying_app, payer.account_id)[0][2] == "rejected"


def test_a_completed_session_not_yet_paid_waits_for_async_payment_succeeded(paying_app, standin):
    payer, session, due = opened(paying_app, standin)
    session.update(status="complete", payment_status="unpaid", payment_intent="pi_test_bank")
    first = event("checkout.session.completed", session)
    assert post(paying_app, first, sign(first, standin.webhook_secret)).json["outcome"] == "not paid yet"
    assert payments(paying_app, payer.account_id) == []
    session["payment_status"] = "paid"
    second = event("checkout.session.async_payment_succeeded", session)
    assert post(paying_app, second, sign(second, standin.webhook_secret)).json["outcome"].startswith("paid: ")
    assert [p[:3] for p in payments(paying_app, payer.account_id)] == [(due, "card", "pi_test_bank")]


def test_an_expired_session_is_marked_expired_and_other_events_are_ignored(paying_app, standin):
    payer, session, _ = opened(paying_app, standin)
    ignored = json.dumps({"id": "evt_pi", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_x"}}})
    assert post(paying_app, ignored, sign(ignored, standin.webhook_secret)).json["outcome"] == "ignored"
    expired = event("checkout.session.expired", {**session, "status": "expired"})
    assert post(paying_app, expired, sign(expired, standin.webhook_secret)).json["outcome"] == "expired"
    assert checkouts(paying_app, payer.account_id)[0][2] == "expired"
    # The payer pays again: a new session.
    assert session_of(payer.pay())
    assert [status for _, _, status in checkouts(paying_app, payer.account_id)] == ["expired", "open"]


def test_a_delayed_payment_that_failed_closes_its_session_so_a_new_one_can_open(paying_app, standin):
    payer, session, _ = opened(paying_app, standin)
    failed = event("checkout.session.async_payment_failed", {**session, "payment_status": "unpaid"})
    assert post(paying_app, failed, sign(failed, standin.webhook_secret)).json["outcome"] == "expired"
    assert checkouts(paying_app, payer.account_id)[0][2] == "expired"
    assert session_of(payer.pay())
    assert [status for _, _, status in checkouts(paying_app, payer.account_id)] == ["expired", "open"]


def test_a_signed_body_that_is_not_an_event_is_refused(paying_app, standin):
    for body in ("{", "[]", '{"id": "evt_1"}', '{"id": 1, "type": "x", "data": {"object": {}}}', "\u00e9t\u00e9"):
        response = post(paying_app, body, sign(body, standin.webhook_secret))
        assert response.status_code == 400, body
    assert events(paying_app) == {}


def test_online_payment_off_the_webhook_does_not_exist(app):
    payload = event("checkout.session.completed", {"id": "cs_test_1"})
    response = post(app, payload, sign(payload, "whsec_anything"))
    assert response.status_code == 404
    assert events(app) == {}


def test_the_webhook_is_rate_limited(make_app, standin):
    from tests.payments.helpers import stripe_settings

    app = make_app(RATELIMIT_ENABLED=True, STRIPE_WEBHOOK_LIMIT="2 per minute", **stripe_settings(standin))
    payload = event("checkout.session.expired", {"id": "cs_test_nobody"})
    statuses = [post(app, payload, sign(payload, standin.webhook_secret)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = post(app, payload, sign(payload, standin.webhook_secret))
    assert limited.status_code == 429 and limited.is_json
