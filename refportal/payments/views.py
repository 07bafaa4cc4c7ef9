"""The payer's pages of online payment: start a Stripe Checkout for what an account owes now, and the
page Stripe sends them back to ("processing" until the signed webhook recorded the payment).

`payment_offer(account)` builds what the pay button macro (templates/_macros/pay.html) shows; the
application and renewal pages put it in their Fees section."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from refportal.mail.services import external_url
from refportal.payments import checkout
from refportal.payments.forms import PayForm
from refportal.payments.gateway import online_payment_enabled
from refportal.payments.ledger import money, totals_of
from refportal.payments.models import CheckoutSession, CheckoutStatus, FeeAccount
from refportal.transactions import attempt
from refportal.web import safe_next

bp = Blueprint("payments", __name__)

# Seconds between two reloads of the return page while the payment is processing.
REFRESH_SECONDS = 3


@dataclass(frozen=True)
class PaymentOffer:
    """What the pay button shows: the account, what it owes now, the form, and whether card payment
    is on (off: how else to pay)."""

    account: FeeAccount
    owed_cents: int
    form: PayForm
    online: bool
    fee_only_cents: int = 0  # a second button: the application fee alone (0: not offered)

    @property
    def owed(self) -> str:
        return money(self.owed_cents, self.account.currency)

    @property
    def fee_only(self) -> str:
        return money(self.fee_only_cents, self.account.currency)


def payment_offer(account: FeeAccount | None, came_from: str | None = None) -> PaymentOffer | None:
    """The pay button for `account` on the page at `came_from` (default: this request's path)."""
    if account is None:
        return None
    form = PayForm(formdata=None, came_from=came_from or request.path)
    balance = totals_of(account).balance
    online = online_payment_enabled()
    fee_only = checkout.fee_only_cents(account) if online and balance > 0 else 0
    return PaymentOffer(account, balance, form, online, fee_only)


def _back(form: PayForm) -> str:
    return safe_next(form.came_from.data) or url_for("submission.dashboard")


@bp.post("/fees/<int:account_id>/checkout")
@login_required
def start_checkout(account_id: int):
    """Open (or reopen) the payer's Stripe Checkout for what the account owes now, and go there."""
    account = checkout.account_of_payer(account_id, current_user.id)
    if account is None:
        abort(404)
    form = PayForm()
    if not form.validate_on_submit():
        abort(400)
    back = _back(form)
    base = current_app.config["PORTAL_BASE_URL"]
    urls = checkout.Urls(
        success=lambda checkout_id: external_url("payments.checkout_return", checkout_id=checkout_id),
        cancel=base + back,
    )
    fee_only = form.part.data == "application_fee"
    result = attempt(lambda: checkout.start_checkout(account=account, actor=current_user, urls=urls, fee_only=fee_only))
    if result.refusal is not None or result.value is None:
        flash(result.refusal.message if result.refusal else "The payment page could not be opened.", "error")
        return redirect(back)
    return _to_stripe(result.value)


def _to_stripe(found: CheckoutSession):
    """On to Stripe's page. Not a redirect: the pages' Content-Security-Policy (`form-action 'self'`)
    lets a form's answer redirect only to this site, so the answer is a page that moves on by itself
    (a `Refresh` header, a navigation of its own) with a link to follow should it not."""
    response = current_app.make_response(
        render_template("payments/going.html", checkout=found, amount=money(found.amount_cents, found.currency))
    )
    response.headers["Refresh"] = f"0; url={found.url}"
    return response


@bp.get("/fees/checkout/<int:checkout_id>/return")
@login_required
def checkout_return(checkout_id: int):
    """Where Stripe sends the payer back: the payment as the ledger knows it (the redirect itself
    proves nothing; only the signed webhook records a payment)."""
    found = checkout.checkout_of_payer(checkout_id, current_user.id)
    if found is None:
        abort(404)
    payment = checkout.payment_of(found)
    processing = payment is None and found.status in (CheckoutStatus.OPEN, CheckoutStatus.PAID)
    response = current_app.make_response(
        render_template(
            "payments/return.html",
            checkout=found,
            payment=payment,
            processing=processing,
            amount=money(found.amount_cents, found.currency),
            refresh_seconds=REFRESH_SECONDS,
        )
    )
    if processing:
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response
