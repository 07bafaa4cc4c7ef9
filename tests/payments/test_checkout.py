"""Paying online (issue 28): a Stripe Checkout for what the ledger says is owed, reused by a second
tab, replaced when the amount changed; the return page; refusals. Against the Stripe stand-in."""

from __future__ import annotations

import sqlalchemy as sa

from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.extensions import db
from tests.payments.helpers import applicant_with_fees, checkouts, owed, payments, waive


def audited(app, action: AuditAction) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == action))


def test_the_amount_is_the_ledgers_whatever_the_form_says(paying_app, standin):
    payer = applicant_with_fees(paying_app)
    balance = owed(paying_app, payer.account_id)
    assert balance == 2500 + 12500 or balance > 0
    response = payer.pay(amount="1", unit_amount="1", amount_cents="1", currency="JPY")
    assert response.status_code == 303
    [created] = standin.created()
    session = standin.sessions[response.headers["Location"].rsplit("/", 1)[1]]
    assert response.headers["Location"] == session["url"]
    params = created.params
    assert params["mode"] == "payment"
    [item] = params["line_items"]
    assert item["price_data"]["unit_amount"] == str(balance)
    assert item["price_data"]["currency"] == "usd"
    assert item["price_data"]["product_data"]["name"].startswith("Application ")
    assert params["client_reference_id"] == str(payer.account_id)
    assert params["customer_email"] == "a@example.org"
    [(session_id, cents, status)] = checkouts(paying_app, payer.account_id)
    assert (session_id, cents, status) == (session["id"], balance, "open")
    assert params["metadata"]["account_id"] == str(payer.account_id)
    checkout_id = int(params["metadata"]["checkout_id"])
    assert params["success_url"] == f"https://portal.example.test/fees/checkout/{checkout_id}/return"
    assert params["cancel_url"] == f"https://portal.example.test{payer.page}"
    assert audited(paying_app, AuditAction.FEE_CHECKOUT_OPENED) == 1
