"""Changes to the ledger that settle what is owed: a payment received (by card through its
checkout's webhook, or recorded by staff), with its receipt e-mailed to the payer; and staff's
waivers and refunds (docs/payments.md, "Staff: payments, waivers, refunds, the outstanding list")."""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.mail.services import queue_email
from refportal.payments import gateway
from refportal.payments.amounts import MAX_AMOUNT_CENTS
from refportal.payments.ledger import money, totals_of
from refportal.payments.models import (
    CheckoutSession,
    FeeAccount,
    Payment,
    PaymentMethod,
    Refund,
    Waiver,
    WaiverKind,
)
from refportal.payments.receipts import queue_receipt, receipt_url

MAX_REFERENCE = 120
MAX_REASON = 500
OLDEST_PAYMENT_YEARS = 5  # a payment received longer ago than this is a typing mistake


def record_payment(
    *,
    account: FeeAccount,
    method: PaymentMethod,
    amount_cents: int,
    received_on: date,
    reference: str = "",
    checkout: CheckoutSession | None = None,
    actor: Any = None,
) -> Payment:
    """Add a payment to the account, audit it and e-mail its receipt. The callers check the amount
    (staff's form, the webhook's session); the database refuses a second payment for one checkout."""
    payment = Payment(
        account=account,
        method=method,
        amount_cents=amount_cents,
        currency=account.currency,
        received_on=received_on,
        reference=reference,
        checkout_id=checkout.id if checkout is not None else None,
        recorded_by_id=getattr(actor, "id", None),
    )
    db.session.add(payment)
    db.session.flush()
    record(
        AuditAction.FEE_PAYMENT_RECORDED,
        obj=payment,
        actor=actor,
        account=account.id,
        method=method.value,
        cents=amount_cents,
        receipt=payment.receipt_number,
    )
    queue_receipt(payment)
    return payment


# ---------------------------------------------------------------------------------------------
# Staff: payments received outside the portal, waivers, refunds


def _text(value: str | None, *, what: str, limit: int, field: str, lines: bool) -> str:
    """Staff's text, trimmed: required, at most `limit` characters, no control characters (line
    breaks kept where `lines`)."""
    text = (value or "").strip()
    if not text:
        raise Refused(f"Write the {what}.", field=field)
    if len(text) > limit:
        raise Refused(f"The {what} is too long (at most {limit:,} characters).", field=field)
    allowed = "\r\n\t" if lines else ""
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text):
        what_breaks = "control characters" if lines else "line breaks and control characters"
        raise Refused(f"Remove the {what_breaks} from the {what}.", field=field)
    return text


def _amount(amount_cents: int) -> int:
    if amount_cents <= 0:
        raise Refused("The amount must be more than zero.", field="amount")
    if amount_cents > MAX_AMOUNT_CENTS:
        raise Refused(f"The amount is too large (at most {MAX_AMOUNT_CENTS // 100:,}).", field="amount")
    return amount_cents


def _locked_account(account: FeeAccount) -> FeeAccount:
    """The account's row locked (PostgreSQL: FOR UPDATE) and its rows read anew: two staff members
    settling one account at once are taken one after the other."""
    db.session.execute(sa.select(FeeAccount.id).where(FeeAccount.id == account.id).with_for_update())
    db.session.expire(account, ["charges", "payments", "waivers"])
    for payment in account.payments:
        db.session.expire(payment, ["refunds"])
    return account


def record_staff_payment(
    *,
    account: FeeAccount,
    method: PaymentMethod,
    amount_cents: int,
    received_on: date | None,
    reference: str | None,
    as_credit: bool,
    today: date,
    actor: Any,
) -> Payment:
    """A cheque, purchase order or bank transfer received: its reference, the day it came (not in the
    future, not more than OLDEST_PAYMENT_YEARS ago), an amount above zero and at most what is owed,
    unless staff tick "record as a credit" (the rest is then owed back to the payer)."""
    if method is PaymentMethod.CARD:
        raise Refused("Card payments are recorded from Stripe, not by hand.", field="method")
    text = _text(reference, what="reference", limit=MAX_REFERENCE, field="reference", lines=False)
    if received_on is None:
        raise Refused("Enter the date the payment was received.", field="received_on")
    if received_on > today:
        raise Refused("The date received cannot be in the future.", field="received_on")
    if received_on < today - timedelta(days=365 * OLDEST_PAYMENT_YEARS + 1):
        raise Refused(
            f"The date received is more than {OLDEST_PAYMENT_YEARS} years ago: check the date.", field="received_on"
        )
    _amount(amount_cents)
    _locked_account(account)
    owed = totals_of(account).balance
    if amount_cents > owed and not as_credit:
        owed_text = money(max(owed, 0), account.currency)
        raise Refused(
            f"That is more than the {owed_text} owed: tick “record the rest as a credit” to record it all.",
            field="amount",
        )
    return record_payment(
        account=account,
        method=method,
        amount_cents=amount_cents,
        received_on=received_on,
        reference=text,
        actor=actor,
    )


def grant_waiver(*, account: FeeAccount, kind: WaiverKind, amount_cents: int, reason: str | None, actor: Any) -> Waiver:
    """Forgive part or all of what is owed (a waiver or a scholarship), with its reason; never more
    than the balance owed."""
    text = _text(reason, what="reason", limit=MAX_REASON, field="reason", lines=True)
    _amount(amount_cents)
    _locked_account(account)
    owed = totals_of(account).balance
    if owed <= 0:
        raise Refused("Nothing is owed on this account: there is nothing to waive.", field="amount")
    if amount_cents > owed:
        raise Refused(f"At most the {money(owed, account.currency)} owed can be waived.", field="amount")
    waiver = Waiver(
        account=account, kind=kind, amount_cents=amount_cents, reason=text, granted_by_id=getattr(actor, "id", None)
    )
    db.session.add(waiver)
    db.session.flush()
    record(AuditAction.FEE_WAIVED, obj=waiver, actor=actor, account=account.id, kind=kind.value, cents=amount_cents)
    return waiver


def issue_refund(
    *, account: FeeAccount, payment_id: int | None, amount_cents: int, reason: str | None, actor: Any
) -> Refund:
    """Give back part or all of one payment of the account: never more than what of it is not yet
    refunded (the payment's row is locked and read anew, so two tabs refund it once). A card payment
    is refunded through Stripe; a cheque's or a transfer's is recorded (the money goes back outside
    the portal). The payer is told by e-mail."""
    text = _text(reason, what="reason", limit=MAX_REASON, field="reason", lines=True)
    _amount(amount_cents)
    if payment_id is None:
        raise Refused("Choose the payment to refund.", field="payment")
    payment = db.session.scalar(
        sa.select(Payment)
        .where(Payment.id == payment_id, Payment.account_id == account.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if payment is None:
        raise Refused("Choose one of this account's payments.", field="payment")
    db.session.expire(payment, ["refunds"])
    refundable = payment.refundable_cents
    if refundable <= 0:
        raise Refused(f"Payment {payment.receipt_number} is already refunded in full.", field="amount")
    if amount_cents > refundable:
        raise Refused(
            f"At most {money(refundable, payment.currency)} of payment {payment.receipt_number} can be refunded.",
            field="amount",
        )
    stripe_refund_id = None
    if payment.method is PaymentMethod.CARD:
        # The key names this refund of this payment in its present state: a repeated request gives
        # back one refund, a later one (after this refund is recorded) is another.
        key = f"refportal-refund-{payment.id}-{payment.refunded_cents}-{amount_cents}"
        # Stripe refusing is a Refused saying nothing was given back: nothing is recorded here either.
        stripe_refund_id = gateway.refund_card_payment(payment, amount_cents, key)
    refund = Refund(
        payment=payment,
        amount_cents=amount_cents,
        reason=text,
        stripe_refund_id=stripe_refund_id,
        refunded_by_id=getattr(actor, "id", None),
    )
    db.session.add(refund)
    db.session.flush()
    record(
        AuditAction.FEE_REFUNDED,
        obj=refund,
        actor=actor,
        account=account.id,
        payment=payment.id,
        method=payment.method.value,
        cents=amount_cents,
        stripe_refund=stripe_refund_id,
    )
    queue_email(
        "fee_refunded",
        account.payer.email,
        related=refund,
        payer=account.payer,
        account=account,
        payment=payment,
        refund=refund,
        amount=money(amount_cents, payment.currency),
        receipt_url=receipt_url(payment),
    )
    db.session.expire(account, ["payments"])
    return refund
