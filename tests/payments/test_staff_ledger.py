"""Staff's side of one fee account, through the test client as an administrator: a payment received
(its receipt e-mailed), a waiver, a refund (of a cheque: recorded; of a card payment: through Stripe),
every bad amount, date and text refused with its message and nothing changed, markup escaped on
every page and e-mail, and nobody but an administrator let in."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
import sqlalchemy as sa

from refportal.accounts.models import Role
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.db import utc_today
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.payments import gateway
from refportal.payments.amounts import amount_in_cents
from refportal.payments.models import FeeAccount, FeeKind, Payment, PaymentMethod, Refund, Waiver
from tests.builders import logged_in
from tests.factories import PaymentFactory, make_user
from tests.payments.staff_helpers import account_url, make_account, make_admin, totals
from tests.web import csrf_token_from, link_in

EMAIL = "pat@example.org"
HOSTILE = "<script>alert(1)</script><a href='https://evil.example'>x</a>"


@pytest.fixture
def setup(app):
    """An account owing $25.00 (the application fee) and $50.00 (the processing fee); the admin's browser."""
    with app.app_context():
        make_admin()
        made = make_account(email=EMAIL, charges=((FeeKind.APPLICATION, 2500), (FeeKind.PROCESSING, 5000)))
    return made.account_id, logged_in(app, "admin@example.org")


def state(app):
    """What a refused request must leave as it was: the ledger's rows, the outbox, the audit trail."""
    with app.app_context():
        count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
        return tuple(count(m) for m in (Payment, Waiver, Refund, OutboxEmail, AuditEvent))


def pay(browser, account_id, **given):
    data = {
        "payment-method": "cheque",
        "payment-reference": "Cheque 1042",
        "payment-received_on": utc_today().isoformat(),
        "payment-amount": "75.00",
        **given,
    }
    return browser.submit(f"{account_url(account_id)}/payments", data, form_url=account_url(account_id))


def test_a_cheque_recorded_settles_the_balance_and_emails_its_receipt(app, setup, outbox):
    account_id, admin = setup
    response = pay(admin, account_id, **{"payment-amount": "75"})
    assert response.status_code == 302
    assert totals(app, account_id).balance == 0
    assert totals(app, account_id).paid == 7500
    page = admin.get(account_url(account_id)).get_data(as_text=True)
    assert "Cheque 1042" in page and "$75.00" in page and "$0.00 owed" in page
    with app.app_context():
        payment = db.session.scalars(sa.select(Payment)).one()
        assert payment.method is PaymentMethod.CHEQUE and payment.recorded_by_id is not None
        assert f'href="/fees/receipts/{payment.id}"' in page  # the receipt, from the payment's row
        event = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == AuditAction.FEE_PAYMENT_RECORDED)
        ).one()
        assert event.details["cents"] == 7500
        number = payment.receipt_number
    (receipt,) = outbox(EMAIL)
    assert receipt.template == "payment_receipt" and number in receipt.subject
    assert link_in(receipt.body_text, "/fees/receipts/") == f"/fees/receipts/{payment.id}"
    assert f"/fees/receipts/{payment.id}" in receipt.body_html


def test_more_than_is_owed_is_refused_unless_recorded_as_a_credit(app, setup):
    account_id, admin = setup
    before = state(app)
    response = pay(admin, account_id, **{"payment-amount": "100.00"})
    assert response.status_code == 400
    assert "more than the $75.00 owed" in response.get_data(as_text=True)
    assert state(app) == before
    response = pay(admin, account_id, **{"payment-amount": "100.00", "payment-as_credit": "y"})
    assert response.status_code == 302
    assert totals(app, account_id).balance == -2500  # a credit of $25.00 owed back
    page = admin.get("/staff/fees?balance=credit").get_data(as_text=True)
    assert "$25.00 in credit" in page


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "Enter the amount"),
        ("-5", "more than zero"),
        ("--5", "as a number"),
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("abc", "as a number"),
        ("NaN", "as a number"),
        ("1e309", "as a number"),
        ("Infinity", "as a number"),
        ("25.005", "at most two decimals"),
        ("100000.01", "too large"),
        ("9" * 30, "as a number"),
        ("２５", "as a number"),  # full-width digits
        ("1,2,5", "as a number"),  # a comma only between thousands
        ("7,5", "as a number"),
        ("0,500", "as a number"),  # a decimal comma, not 500.00
        ("+25", "without a sign"),
    ],
)
def test_bad_amounts_are_refused_with_a_message_and_nothing_changes(app, setup, amount, message):
    account_id, admin = setup
    before = state(app)
    response = pay(admin, account_id, **{"payment-amount": amount})
    assert response.status_code == 400
    assert message in html.unescape(response.get_data(as_text=True))
    assert state(app) == before
    assert totals(app, account_id).balance == 7500


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"payment-received_on": (utc_today() + timedelta(days=1)).isoformat()}, "cannot be in the future"),
        ({"payment-received_on": (utc_today() - timedelta(days=6 * 365)).isoformat()}, "more than 5 years ago"),
        ({"payment-received_on": ""}, "Enter the date the payment was received"),
        ({"payment-received_on": "9999-12-31"}, "between 1900 and 2199"),
        ({"payment-reference": ""}, "Write the reference"),
        ({"payment-reference": "x" * 121}, "too long (at most 120"),
        ({"payment-reference": "Cheque\r\nX-Injected: 1"}, "line breaks"),
        ({"payment-method": "card"}, "Not a valid choice"),
    ],
)
def test_bad_dates_references_and_methods_are_refused_and_nothing_changes(app, setup, given, message):
    account_id, admin = setup
    before = state(app)
    response = pay(admin, account_id, **given)
    assert response.status_code == 400
    assert message in html.unescape(response.get_data(as_text=True))
    assert state(app) == before


@pytest.mark.parametrize(
    ("typed", "cents"),
    [("25", 2500), ("25.5", 2550), ("25.50", 2550), (" 0.01 ", 1), ("1,250.00", 125000), ("100000", 10_000_000)],
)
def test_amounts_are_read_as_exact_cents(typed, cents):
    assert amount_in_cents(typed) == cents


def test_a_payment_received_five_years_ago_to_the_day_is_accepted(app, setup):
    account_id, admin = setup
    response = pay(admin, account_id, **{"payment-received_on": (utc_today() - timedelta(days=5 * 365)).isoformat()})
    assert response.status_code == 302


def waive(browser, account_id, **given):
    data = {"waiver-kind": "scholarship", "waiver-amount": "50", "waiver-reason": "Board scholarship 2026", **given}
    return browser.submit(f"{account_url(account_id)}/waivers", data, form_url=account_url(account_id))


def test_a_scholarship_is_granted_with_its_reason_and_audited(app, setup, outbox):
    account_id, admin = setup
    assert waive(admin, account_id).status_code == 302
    assert totals(app, account_id).waived == 5000 and totals(app, account_id).balance == 2500
    page = admin.get(account_url(account_id)).get_data(as_text=True)
    assert "Board scholarship 2026" in page and "Alex Admin" in page
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == AuditAction.FEE_WAIVED)).one()
        assert event.details == {"account": account_id, "kind": "scholarship", "cents": 5000}
        assert event.actor_id is not None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"waiver-amount": "75.01"}, "At most the $75.00 owed can be waived"),
        ({"waiver-amount": "-1"}, "more than zero"),
        ({"waiver-reason": ""}, "Write the reason"),
        ({"waiver-reason": "x" * 501}, "too long (at most 500"),
        ({"waiver-reason": "a\x00b"}, "control characters"),
        ({"waiver-kind": "gift"}, "Not a valid choice"),
    ],
)
def test_a_waiver_above_the_balance_or_without_a_reason_is_refused(app, setup, given, message):
    account_id, admin = setup
    before = state(app)
    response = waive(admin, account_id, **given)
    assert response.status_code == 400
    assert message in html.unescape(response.get_data(as_text=True))
    assert state(app) == before


def refund(browser, account_id, payment_id, **given):
    data = {"refund-payment": str(payment_id), "refund-amount": "75.00", "refund-reason": "Withdrawn", **given}
    return browser.submit(f"{account_url(account_id)}/refunds", data, form_url=account_url(account_id))


def only_payment_id(app) -> int:
    with app.app_context():
        return db.session.scalars(sa.select(Payment.id)).one()


def test_a_cheque_is_refunded_in_two_parts_never_beyond_what_was_paid(app, setup, outbox):
    account_id, admin = setup
    pay(admin, account_id)
    payment_id = only_payment_id(app)
    assert refund(admin, account_id, payment_id, **{"refund-amount": "50"}).status_code == 302
    assert totals(app, account_id).refunded == 5000 and totals(app, account_id).balance == 5000
    before = state(app)
    response = refund(admin, account_id, payment_id, **{"refund-amount": "25.01"})
    assert response.status_code == 400
    assert "At most $25.00 of payment R-" in response.get_data(as_text=True)
    assert state(app) == before
    assert refund(admin, account_id, payment_id, **{"refund-amount": "25"}).status_code == 302
    page = admin.get(account_url(account_id)).get_data(as_text=True)
    assert "No payment of this account is left to refund." in page
    with app.app_context():
        refunds = db.session.scalars(sa.select(Refund).order_by(Refund.id)).all()
        assert [r.amount_cents for r in refunds] == [5000, 2500]
        assert all(r.stripe_refund_id is None for r in refunds)  # a cheque: recorded, not sent to Stripe
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == AuditAction.FEE_REFUNDED)).all()
        assert [e.details["cents"] for e in events] == [5000, 2500]
    notices = [m for m in outbox(EMAIL) if m.template == "fee_refunded"]
    assert len(notices) == 2
    assert "$50.00" in notices[0].subject and "Withdrawn" in notices[0].body_text
    assert "outside the portal" in notices[0].body_text


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"refund-amount": "75.01"}, "At most $75.00"),
        ({"refund-amount": "0"}, "more than zero"),
        ({"refund-reason": ""}, "Write the reason"),
        ({"refund-payment": ""}, "Choose the payment"),
        ({"refund-payment": "999999"}, "Choose one of this account's payments"),
        ({"refund-payment": "9" * 30}, "Choose the payment"),
    ],
)
def test_a_refund_above_the_payment_or_of_no_payment_of_the_account_is_refused(app, setup, given, message):
    account_id, admin = setup
    pay(admin, account_id)
    payment_id = only_payment_id(app)
    before = state(app)
    response = refund(admin, account_id, payment_id, **given)
    assert response.status_code == 400
    assert message in html.unescape(response.get_data(as_text=True))
    assert state(app) == before


def test_another_accounts_payment_is_not_refunded_from_this_account(app, setup):
    account_id, admin = setup
    with app.app_context():
        other = make_account(email="other@example.org")
        foreign = PaymentFactory(account=db.session.get(FeeAccount, other.account_id))
        db.session.commit()
        foreign_id = foreign.id
    pay(admin, account_id)
    before = state(app)
    response = refund(admin, account_id, foreign_id, **{"refund-amount": "1"})
    assert response.status_code == 400
    assert "Choose one of this account&#39;s payments" in response.get_data(as_text=True)
    assert state(app) == before


def card_payment(app, account_id: int) -> int:
    with app.app_context():
        payment = PaymentFactory(
            account=db.session.get(FeeAccount, account_id),
            method=PaymentMethod.CARD,
            amount_cents=7500,
            reference="pi_3Test",
        )
        db.session.commit()
        return payment.id


def test_a_card_payment_is_refunded_through_stripe_with_an_idempotency_key(app, setup, monkeypatch, outbox):
    account_id, admin = setup
    payment_id = card_payment(app, account_id)
    calls = []

    def refund_card_payment(payment, amount_cents, key):
        calls.append((payment.reference, amount_cents, key))
        return "re_test_1"

    monkeypatch.setattr(gateway, "refund_card_payment", refund_card_payment)
    assert refund(admin, account_id, payment_id, **{"refund-amount": "30"}).status_code == 302
    assert calls == [("pi_3Test", 3000, f"refportal-refund-{payment_id}-0-3000")]
    with app.app_context():
        assert db.session.scalars(sa.select(Refund.stripe_refund_id)).one() == "re_test_1"
    (notice,) = [m for m in outbox(EMAIL) if m.template == "fee_refunded"]
    assert "card you paid with" in notice.body_text


def test_a_refund_stripe_refuses_records_nothing(app, setup, monkeypatch):
    account_id, admin = setup
    payment_id = card_payment(app, account_id)

    def refund_card_payment(payment, amount_cents, key):  # as the gateway answers Stripe's refusal
        raise Refused("Stripe did not make the refund: Charge already refunded. Nothing was given back.")

    monkeypatch.setattr(gateway, "refund_card_payment", refund_card_payment)
    before = state(app)
    response = refund(admin, account_id, payment_id)
    assert response.status_code == 400
    assert "Stripe did not make the refund: Charge already refunded" in response.get_data(as_text=True)
    assert state(app) == before


def test_markup_in_references_and_reasons_is_escaped_on_every_page_and_email(app, setup, outbox):
    account_id, admin = setup
    with app.app_context():
        db.session.execute(
            sa.text("UPDATE fee_account SET label = :label WHERE id = :id"), {"label": HOSTILE, "id": account_id}
        )
        db.session.execute(
            sa.text("UPDATE user_account SET name = :name WHERE email = :email"), {"name": HOSTILE, "email": EMAIL}
        )
        db.session.commit()
    assert waive(admin, account_id, **{"waiver-amount": "1", "waiver-reason": HOSTILE}).status_code == 302
    assert pay(admin, account_id, **{"payment-reference": HOSTILE, "payment-amount": "74"}).status_code == 302
    payment_id = only_payment_id(app)
    assert refund(admin, account_id, payment_id, **{"refund-amount": "1", "refund-reason": HOSTILE}).status_code == 302
    payer = logged_in(app, EMAIL)
    pages = [
        admin.get(account_url(account_id)),
        admin.get("/staff/fees?balance=all"),
        admin.get(f"/fees/receipts/{payment_id}"),
        payer.get(f"/fees/receipts/{payment_id}"),
    ]
    for response in pages:
        body = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "<script>alert(1)" not in body and "<a href='https://evil.example'>" not in body
        assert "&lt;script&gt;alert(1)" in body
    for message in outbox(EMAIL):
        assert "<script>alert(1)" not in message.body_html
        assert "<a href='https://evil.example'>" not in message.body_html


def test_a_waiver_on_an_account_owing_nothing_is_refused(app, setup):
    account_id, admin = setup
    pay(admin, account_id)
    before = state(app)
    response = waive(admin, account_id, **{"waiver-amount": "1"})
    assert response.status_code == 400
    assert "nothing to waive" in response.get_data(as_text=True)
    assert state(app) == before


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER])
def test_nobody_but_an_administrator_reaches_a_staff_fee_page_or_changes_anything(app, setup, role):
    account_id, admin = setup
    pay(admin, account_id)
    payment_id = only_payment_id(app)
    with app.app_context():
        make_user(email="someone@example.org", role=role)
    someone = logged_in(app, "someone@example.org")
    token_page = someone.get("/dashboard", follow_redirects=True).get_data(as_text=True)
    token = csrf_token_from(token_page)
    for url in ("/staff/fees", "/staff/fees.csv", "/staff/fees/ledger.csv", account_url(account_id)):
        assert someone.get(url).status_code == 404, url
    before = state(app)
    for action, data in (
        (
            "payments",
            {
                "payment-method": "cheque",
                "payment-reference": "X",
                "payment-amount": "1",
                "payment-received_on": utc_today().isoformat(),
            },
        ),
        ("waivers", {"waiver-kind": "waiver", "waiver-amount": "1", "waiver-reason": "x"}),
        ("refunds", {"refund-payment": str(payment_id), "refund-amount": "1", "refund-reason": "x"}),
    ):
        response = someone.client.post(f"{account_url(account_id)}/{action}", data={"csrf_token": token, **data})
        assert response.status_code == 404, action
    assert state(app) == before
    assert "/staff/fees" not in token_page  # no link to the fees in their navigation
    assert 'href="/staff/fees"' in admin.get("/dashboard", follow_redirects=True).get_data(as_text=True)


def test_an_unknown_account_is_a_404(app, setup):
    _, admin = setup
    assert admin.get(account_url(999999)).status_code == 404
    assert admin.client.post(f"{account_url(999999)}/payments", data={}).status_code in (400, 404)
