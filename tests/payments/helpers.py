"""The payment tests' world: an applicant's application with its fee account, the portal pointed at
the Stripe stand-in (tests/payments/stripe_standin.py), and reading the ledger back."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.extensions import db
from refportal.payments.ledger import totals_of
from refportal.payments.models import CheckoutSession, FeeAccount, Payment, StripeEvent, Waiver, WaiverKind
from refportal.submission.services import fee_account
from tests.builders import ready_application
from tests.factories import make_user
from tests.web import Browser, csrf_token_from

WEBHOOK_SECRET = "whsec_standin_secret"
WEBHOOK = "/payments/stripe/webhook"


def stripe_settings(standin) -> dict:
    return {
        "STRIPE_SECRET_KEY": "sk_test_standin",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": standin.url,
    }


@dataclass
class Payer:
    browser: Browser
    application_id: int
    account_id: int

    @property
    def page(self) -> str:
        return f"/applications/{self.application_id}"

    @property
    def checkout_url(self) -> str:
        return f"/fees/{self.account_id}/checkout"

    def pay(self, **extra: str):
        """Press the pay button of the application page (with `extra` fields a tampered form adds)."""
        html = self.browser.get(self.page).get_data(as_text=True)
        data = {"csrf_token": csrf_token_from(html), "came_from": self.page, **extra}
        return self.browser.client.post(self.checkout_url, data=data)


def applicant_with_fees(app, email: str = "a@example.org") -> Payer:
    """An applicant's eligible application with a current membership, its fee account opened (the
    application and processing fees owed), logged in."""
    with app.app_context():
        applicant = make_user(email=email, name="Applicant A")
        application = ready_application(applicant, settled=False)
        account = fee_account(db.session.get(Application, application.id), utc_today())
        assert account is not None
        db.session.commit()
        ids = application.id, account.id
    browser = Browser(app.test_client())
    browser.login(email)
    return Payer(browser, *ids)


def owed(app, account_id: int) -> int:
    with app.app_context():
        account = db.session.get(FeeAccount, account_id)
        assert account is not None
        return totals_of(account).balance


def waive(app, account_id: int, amount_cents: int) -> None:
    with app.app_context():
        db.session.add(Waiver(account_id=account_id, kind=WaiverKind.WAIVER, amount_cents=amount_cents, reason="test"))
        db.session.commit()


def checkouts(app, account_id: int) -> list[tuple[str, int, str]]:
    """(stripe session id, cents, status) of the account's checkouts, oldest first."""
    with app.app_context():
        rows = db.session.scalars(
            sa.select(CheckoutSession).where(CheckoutSession.account_id == account_id).order_by(CheckoutSession.id)
        )
        return [(row.stripe_session_id, row.amount_cents, row.status.value) for row in rows]


def payments(app, account_id: int) -> list[tuple[int, str, str, int | None]]:
    """(cents, method, reference, checkout id) of the account's payments."""
    with app.app_context():
        rows = db.session.scalars(sa.select(Payment).where(Payment.account_id == account_id).order_by(Payment.id))
        return [(row.amount_cents, row.method.value, row.reference, row.checkout_id) for row in rows]


def events(app) -> dict[str, str]:
    with app.app_context():
        return {row.event_id: row.outcome for row in db.session.scalars(sa.select(StripeEvent))}


def webhook_poster(app):
    """Deliver a webhook to the portal through its own test client (no session, no CSRF token)."""
    client = app.test_client()

    def deliver(payload: str, signature: str) -> int:
        response = client.post(
            WEBHOOK, data=payload.encode(), headers={"Stripe-Signature": signature, "Content-Type": "application/json"}
        )
        return response.status_code

    return deliver


def account_and_checkout(application_id: int) -> tuple[int, int]:
    """The application's fee account and an open checkout of it (as if its payer had pressed the pay
    button), committed: the access matrix and the route sweep's objects. In an app context."""
    application = db.session.get(Application, application_id)
    assert application is not None
    account = fee_account(application, utc_today())
    assert account is not None
    checkout = CheckoutSession(
        account_id=account.id,
        stripe_session_id="cs_test_world",
        url="https://checkout.stripe.com/c/pay/cs_test_world",
        amount_cents=max(totals_of(account).balance, 1),
        currency=account.currency,
    )
    db.session.add(checkout)
    db.session.commit()
    return account.id, checkout.id


def stripe_page(response) -> str:
    """The Stripe page a pressed pay button goes on to (a page moving on by its Refresh header)."""
    assert response.status_code == 200, response.status_code
    delay, _, target = response.headers["Refresh"].partition("; url=")
    assert delay == "0" and target, response.headers["Refresh"]
    assert f'href="{target}"' in response.get_data(as_text=True)  # the link, should the refresh not happen
    return target


def session_of(response) -> str:
    """The id of the Checkout Session a pressed pay button went on to."""
    return stripe_page(response).rsplit("/", 1)[1]
