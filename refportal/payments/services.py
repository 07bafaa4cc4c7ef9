"""Changes to the ledger that settle what is owed: a payment received (by card through its
checkout's webhook, or recorded by staff), with its receipt e-mailed to the payer."""

from __future__ import annotations

from datetime import date
from typing import Any

from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.extensions import db
from refportal.payments.models import CheckoutSession, FeeAccount, Payment, PaymentMethod
from refportal.payments.receipts import queue_receipt


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
