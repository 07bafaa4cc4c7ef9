"""The printable receipt of a payment: its payer and administrators see it, nobody else (404); it
shows the association's lines, what was paid for and any refund; receipts_of lists a payer's."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from refportal.accounts.models import Role
from refportal.extensions import db
from refportal.payments.models import FeeAccount, Payment, PaymentMethod
from refportal.payments.receipts import receipts_of
from tests.builders import logged_in
from tests.factories import PaymentFactory, RefundFactory, make_user
from tests.payments.staff_helpers import make_account, make_admin
from tests.web import Browser


@pytest.fixture
def receipt(make_app):
    app = make_app(ASSOCIATION_ADDRESS="12 Harbour Road; Springfield ST 12345; Tax number 98-7654321")
    with app.app_context():
        make_admin()
        make_user(email="other@example.org", name="Olga Other")
        make_user(email="rev@example.org", role=Role.REVIEWER)
        made = make_account(email="pat@example.org", name="Pat Payer", label="Application 7: IMH-E, category 2")
        payment = PaymentFactory(
            account=db.session.get(FeeAccount, made.account_id),
            method=PaymentMethod.PURCHASE_ORDER,
            amount_cents=2500,
            reference="PO-2026-118",
        )
        db.session.commit()
        return app, payment.id, payment.receipt_number, made.account_id


def test_the_payer_sees_their_printable_receipt(receipt):
    app, payment_id, number, _ = receipt
    page = logged_in(app, "pat@example.org").get(f"/fees/receipts/{payment_id}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    body = page.get_data(as_text=True)
    for text in (
        number,
        "Pat Payer",
        "$25.00",
        "Purchase order",
        "PO-2026-118",
        "Application 7: IMH-E, category 2",
        "12 Harbour Road",
        "Tax number 98-7654321",
        "print.js",  # the print button
    ):
        assert text in body, text
    assert "Refunded" not in body


def test_an_administrator_sees_any_receipt_and_a_refund_on_it(receipt):
    app, payment_id, _, account_id = receipt
    with app.app_context():
        RefundFactory(payment=db.session.get(Payment, payment_id), amount_cents=1000, reason="Course cancelled")
        db.session.commit()
    body = logged_in(app, "admin@example.org").get(f"/fees/receipts/{payment_id}").get_data(as_text=True)
    assert "Refunded" in body and "Course cancelled" in body and "$10.00" in body and "$15.00" in body
    assert f'href="/staff/fees/accounts/{account_id}"' in body


@pytest.mark.parametrize("email", ["other@example.org", "rev@example.org"])
def test_anyone_else_is_told_the_receipt_does_not_exist(receipt, email):
    app, payment_id, _, _ = receipt
    browser = logged_in(app, email)
    assert browser.get(f"/fees/receipts/{payment_id}").status_code == 404
    assert browser.get("/fees/receipts/999999").status_code == 404


def test_anonymous_is_sent_to_log_in(receipt):
    app, payment_id, _, _ = receipt
    response = Browser(app.test_client()).get(f"/fees/receipts/{payment_id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_receipts_of_a_payer_and_of_an_account(receipt):
    app, payment_id, _, account_id = receipt
    with app.app_context():
        pat = db.session.scalar(sa.select(FeeAccount.payer_id).where(FeeAccount.id == account_id))
        other = make_account(email="second@example.org")
        PaymentFactory(account=db.session.get(FeeAccount, other.account_id))
        db.session.commit()
        assert [p.id for p in receipts_of(payer_id=pat)] == [payment_id]
        assert [p.id for p in receipts_of(account_id=account_id)] == [payment_id]
        assert receipts_of() == []
