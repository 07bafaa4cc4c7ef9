"""Paying online: a Stripe Checkout Session for what an account owes now, and the signed webhooks
that record its payment.

- The amount is the ledger's balance when the payer presses the button, never a number from the
  browser. One session is open per account (a partial unique index): a second tab reuses it while
  its amount is still what is owed; once the amount changed, the old one is expired at Stripe and a
  new one opened.
- A payment is recorded only from a webhook whose signature checked (refportal.payments.webhooks):
  each event once (its id inserted first, insert-or-nothing), each session paid once (a conditional
  UPDATE of its status, and the unique checkout_id of the payment).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app

from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import rows_changed, utc_today, utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.payments import gateway
from refportal.payments.charges import account_rows, insert_statement
from refportal.payments.ledger import money, owed_for, totals_of
from refportal.payments.models import (
    DUE_BEFORE_REQUESTS,
    CheckoutSession,
    CheckoutStatus,
    FeeAccount,
    Payment,
    PaymentMethod,
    StripeEvent,
)
from refportal.payments.services import record_payment

log = logging.getLogger(__name__)

# A session Stripe may still pay: open here, or replaced here while its page was still open elsewhere.
PAYABLE = (CheckoutStatus.OPEN, CheckoutStatus.EXPIRED)


def account_of_payer(account_id: int, payer_id: int) -> FeeAccount | None:
    """The account with its rows, if `payer_id` pays it (anyone else: None, the page does not exist)."""
    return db.session.scalar(
        sa.select(FeeAccount)
        .where(FeeAccount.id == account_id, FeeAccount.payer_id == payer_id)
        .options(*account_rows())
        .execution_options(populate_existing=True)
    )


def checkout_of_payer(checkout_id: int, payer_id: int) -> CheckoutSession | None:
    return db.session.scalar(
        sa.select(CheckoutSession)
        .join(FeeAccount, CheckoutSession.account_id == FeeAccount.id)
        .where(CheckoutSession.id == checkout_id, FeeAccount.payer_id == payer_id)
    )


def payment_of(checkout: CheckoutSession) -> Payment | None:
    return db.session.scalar(sa.select(Payment).where(Payment.checkout_id == checkout.id))


def open_checkout_of(account: FeeAccount) -> CheckoutSession | None:
    return db.session.scalar(
        sa.select(CheckoutSession)
        .where(CheckoutSession.account_id == account.id, CheckoutSession.status == CheckoutStatus.OPEN)
        .execution_options(populate_existing=True)
    )


@dataclass(frozen=True)
class Urls:
    """Where Stripe sends the payer back: `success(checkout_id)` once paid, `cancel` if they go back."""

    success: Callable[[int], str]
    cancel: str


def fee_only_cents(account: FeeAccount) -> int:
    """What paying only the application (or reinstatement) fee would be, when it is due before the rest
    (FEE_APPLICATION_FEE_DUE=opening) and less than the balance; else 0 (one button: the balance)."""
    if current_app.config["FEE_APPLICATION_FEE_DUE"] != "opening":
        return 0
    first = owed_for(account, DUE_BEFORE_REQUESTS)
    return first if 0 < first < totals_of(account).balance else 0


def start_checkout(*, account: FeeAccount, actor: Any, urls: Urls, fee_only: bool = False) -> CheckoutSession:
    """The open Checkout Session for what `account` owes now (`fee_only`: its application fee alone,
    see fee_only_cents): the one already open if its amount is still right, else a new one (the old
    one expired at Stripe first). Refused when nothing is owed, online payment is off, or Stripe
    cannot be reached (nothing recorded then)."""
    if not gateway.online_payment_enabled():
        raise Refused("Online payment is not available. Ask the association how else to pay.")
    owed = totals_of(account).balance
    if owed <= 0:
        raise Refused("Nothing is owed on this account: there is nothing to pay.")
    if fee_only:
        owed = fee_only_cents(account)
        if owed <= 0:
            raise Refused("The application fee is not owed on its own now: pay the whole amount instead.")
    current = open_checkout_of(account)
    if current is not None:
        if current.amount_cents == owed and current.currency == account.currency:
            return current  # a second tab, or a second click: the same page at Stripe
        _replace(current)
    return _open(account, owed, actor, urls, "application fee" if fee_only else "")


def _replace(checkout: CheckoutSession) -> None:
    """The amount owed changed since `checkout` was opened: close it at Stripe, then here."""
    try:
        gateway.expire_checkout_session(checkout.stripe_session_id)
    except gateway.GatewayError as error:
        # Already closed at Stripe (expired, or paid and its webhook on the way)?
        try:
            at_stripe = gateway.retrieve_checkout_session(checkout.stripe_session_id)
        except gateway.GatewayError:
            raise Refused(error.message) from error
        if at_stripe.status == "complete":
            raise Refused(
                "Your previous card payment is being processed. Wait a minute, then reload the page."
            ) from error
        if at_stripe.status != "expired":
            raise Refused(error.message) from error
    _close(checkout, CheckoutStatus.EXPIRED, from_statuses=(CheckoutStatus.OPEN,))


def _open(account: FeeAccount, owed: int, actor: Any, urls: Urls, what: str) -> CheckoutSession:
    # The row first: it takes the account's one open place (a concurrent open fails on the index),
    # and its id goes to Stripe in the metadata and the return address.
    placeholder = f"pending:{uuid.uuid4().hex}"
    inserted = db.session.execute(
        insert_statement(CheckoutSession)
        .values(
            account_id=account.id,
            stripe_session_id=placeholder,
            url="",
            amount_cents=owed,
            currency=account.currency,
            status=CheckoutStatus.OPEN,
            created_by_id=getattr(actor, "id", None),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["account_id"], index_where=sa.text("status = 'open'"))
        .returning(cast("sa.Table", CheckoutSession.__table__).c.id)
    ).scalar_one_or_none()
    if inserted is None:
        # Another request opened one at the same moment (the insert waited for it): that one is the
        # account's open session.
        other = open_checkout_of(account)
        if other is None or other.amount_cents != owed or not other.url:
            raise Refused("Another payment page was being opened at the same moment. Try again.")
        return other
    checkout = db.session.get(CheckoutSession, inserted)
    assert checkout is not None
    params = {
        "mode": "payment",
        "payment_method_types": ["card"],  # paid at once: no bank debit settling days later
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": account.currency.lower(),
                    "unit_amount": owed,
                    "product_data": {"name": f"{account.label}: {what}" if what else account.label},
                },
            }
        ],
        "client_reference_id": str(account.id),
        "metadata": {"account_id": str(account.id), "checkout_id": str(checkout.id)},
        "customer_email": account.payer.email,
        "success_url": urls.success(checkout.id),
        "cancel_url": urls.cancel,
    }
    try:
        session = gateway.create_checkout_session(
            params, idempotency_key=f"refportal-checkout-{checkout.id}-{placeholder}"
        )
    except gateway.GatewayError as error:
        raise Refused(error.message) from error
    checkout.stripe_session_id = session.id
    checkout.url = session.url or ""
    db.session.flush()
    record(
        AuditAction.FEE_CHECKOUT_OPENED,
        obj=checkout,
        actor=actor,
        account=account.id,
        cents=owed,
        session=session.id,
    )
    return checkout


def _close(checkout: CheckoutSession, status: CheckoutStatus, *, from_statuses: tuple[CheckoutStatus, ...]) -> bool:
    """Move `checkout` to `status` with one conditional UPDATE: two requests or workers change it once."""
    changed = rows_changed(
        db.session,
        sa.update(CheckoutSession)
        .where(CheckoutSession.id == checkout.id, CheckoutSession.status.in_(from_statuses))
        .values(status=status, closed_at=utcnow()),
    )
    db.session.expire(checkout)
    return bool(changed)


# ------------------------------------------------------------------------------------------------
# Webhook events (their signature already checked)


def claim_event(event_id: str, event_type: str) -> bool:
    """Note that the event is being handled: False if it was already (a repeat, or one handled at the
    same moment by another worker: the insert waits for that one's transaction)."""
    result = db.session.execute(
        insert_statement(StripeEvent)
        .values(event_id=event_id[:255], type=event_type[:100], outcome="received", received_at=utcnow())
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(cast("sa.Table", StripeEvent.__table__).c.event_id)
    )
    return result.scalar_one_or_none() is not None


def handle_event(event_id: str, event_type: str, session: Mapping[str, Any]) -> str:
    """Act on one signed event; returns what came of it (also stored on its StripeEvent row)."""
    if not claim_event(event_id, event_type):
        return "already handled"
    outcome = _act(event_type, session)
    db.session.execute(
        sa.update(StripeEvent).where(StripeEvent.event_id == event_id[:255]).values(outcome=outcome[:200])
    )
    log.info("stripe event %s (%s): %s", event_id, event_type, outcome)
    return outcome


def _act(event_type: str, session: Mapping[str, Any]) -> str:
    if event_type not in (
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    ):
        return "ignored"
    session_id = str(session.get("id") or "")
    checkout = db.session.scalar(sa.select(CheckoutSession).where(CheckoutSession.stripe_session_id == session_id))
    if checkout is None:
        log.warning("stripe event %s for an unknown checkout session %r", event_type, session_id)
        return "unknown session"
    if event_type in ("checkout.session.expired", "checkout.session.async_payment_failed"):
        # Closed unpaid: the payer may open a new one for what is owed then.
        changed = _close(checkout, CheckoutStatus.EXPIRED, from_statuses=(CheckoutStatus.OPEN,))
        return "expired" if changed else f"already {checkout.status.value}"
    if session.get("payment_status") != "paid":
        return "not paid yet"  # an asynchronous method: its async_payment_succeeded follows
    return _paid(checkout, session)


def _paid(checkout: CheckoutSession, session: Mapping[str, Any]) -> str:
    amount, currency = session.get("amount_total"), str(session.get("currency") or "")
    if amount != checkout.amount_cents or currency.upper() != checkout.currency.upper():
        if _close(checkout, CheckoutStatus.REJECTED, from_statuses=PAYABLE):
            record(
                AuditAction.FEE_CHECKOUT_REJECTED,
                obj=checkout,
                account=checkout.account_id,
                expected=f"{checkout.amount_cents} {checkout.currency}",
                reported=f"{amount} {currency.upper()}",
                session=checkout.stripe_session_id,
            )
            log.error(
                "stripe session %s: reported %s %s, opened for %s",
                checkout.stripe_session_id,
                amount,
                currency,
                money(checkout.amount_cents, checkout.currency),
            )
            return "rejected: amount or currency differs"
        return f"already {checkout.status.value}"
    if not _close(checkout, CheckoutStatus.PAID, from_statuses=PAYABLE):
        return f"already {checkout.status.value}"  # paid by another event or worker
    account = db.session.get(FeeAccount, checkout.account_id)
    assert account is not None
    payment = record_payment(
        account=account,
        method=PaymentMethod.CARD,
        amount_cents=checkout.amount_cents,
        received_on=utc_today(),
        reference=str(session.get("payment_intent") or "")[:120],
        checkout=checkout,
    )
    return f"paid: {payment.receipt_number}"
