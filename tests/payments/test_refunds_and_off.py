"""Refunds through Stripe (the gateway function staff's refund calls), and the portal with online
payment off: no pay button, the fee page says how else to pay, the POST refused, the webhook 404."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.payments.gateway import refund_card_payment
from refportal.payments.models import Payment, PaymentMethod
from tests.payments.helpers import WEBHOOK, applicant_with_fees, checkouts, session_of
from tests.payments.stripe_standin import event, sign
from tests.web import csrf_token_from


def card_payment(app, standin):
    payer = applicant_with_fees(app)
    session_id = session_of(payer.pay())
    assert standin.pay(session_id) == 200
    return payer, standin.sessions[session_id]


def test_a_card_payment_is_refunded_through_stripe(paying_app, standin):
    _, session = card_payment(paying_app, standin)
    with paying_app.test_request_context():
        payment = db.session.scalars(sa.select(Payment)).one()
        refund_id = refund_card_payment(payment, 1000, "refund-1")
    assert refund_id in standin.refunds
    [asked] = [r for r in standin.requests if r.path == "/v1/refunds"]
    assert asked.params == {"payment_intent": session["payment_intent"], "amount": "1000"}
    assert asked.idempotency_key == "refund-1"


def test_a_refund_stripe_refuses_is_refused_with_its_reason(paying_app, standin):
    card_payment(paying_app, standin)
    with paying_app.test_request_context():
        payment = db.session.scalars(sa.select(Payment)).one()
        standin.fail_with = (400, "invalid_request_error")
        with pytest.raises(Refused, match="Stripe did not make the refund"):
            refund_card_payment(payment, 1000, "refund-2")
        standin.fail_with = None
        cheque = Payment(method=PaymentMethod.CHEQUE, reference="123", amount_cents=100)
        with pytest.raises(Refused, match="Only a card payment"):
            refund_card_payment(cheque, 100, "refund-3")
    assert standin.refunds == {}


def test_online_payment_off_no_button_the_other_ways_post_refused_webhook_404(app):
    payer = applicant_with_fees(app)
    page = payer.browser.get(payer.page).get_data(as_text=True)
    assert "by card" not in page
    assert "Pay the association by cheque, purchase order or bank transfer" in page
    assert app.config["ASSOCIATION_EMAIL"] in page
    response = payer.browser.client.post(
        payer.checkout_url, data={"csrf_token": csrf_token_from(page), "came_from": payer.page}
    )
    assert response.status_code == 302 and response.headers["Location"] == payer.page
    assert "Online payment is not available" in payer.browser.get(payer.page).get_data(as_text=True)
    assert checkouts(app, payer.account_id) == []
    payload = event("checkout.session.completed", {"id": "cs_test_1"})
    hook = app.test_client().post(WEBHOOK, data=payload, headers={"Stripe-Signature": sign(payload, "whsec_x")})
    assert hook.status_code == 404
