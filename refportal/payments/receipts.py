"""Receipts: one per payment, e-mailed when it is recorded and printable from the payer's pages."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload

from refportal.accounts.models import Role
from refportal.extensions import db
from refportal.mail.services import external_url, queue_email
from refportal.payments.ledger import money
from refportal.payments.models import FeeAccount, Payment


def association_lines() -> list[str]:
    """The association's name and details (ASSOCIATION_ADDRESS, lines separated by ";")."""
    config = current_app.config
    details = [line.strip() for line in config["ASSOCIATION_ADDRESS"].split(";") if line.strip()]
    return [config["ASSOCIATION_NAME"], *details, config["ASSOCIATION_EMAIL"]]


def queue_receipt(payment: Payment) -> None:
    """E-mail the receipt of `payment` to its payer. Context: the payment, its account (what it paid
    for), the payer, the amount as text, the association's lines and the printable receipt's link."""
    account = payment.account
    queue_email(
        "payment_receipt",
        account.payer.email,
        related=payment,
        payment=payment,
        account=account,
        payer=account.payer,
        amount=money(payment.amount_cents, payment.currency),
        association_lines=association_lines(),
        receipt_url=receipt_url(payment),
    )


def receipt_url(payment: Payment) -> str:
    """The printable receipt's address, for e-mail (the payer signs in to open it)."""
    return external_url("payments_staff.receipt", payment_id=payment.id)


def payment_for_receipt(payment_id: int) -> Payment | None:
    """A payment with what its receipt shows: its account and payer, its refunds."""
    return db.session.scalar(
        sa.select(Payment)
        .where(Payment.id == payment_id)
        .options(joinedload(Payment.account).joinedload(FeeAccount.payer), selectinload(Payment.refunds))
    )


def may_see_receipt(user: Any, payment: Payment) -> bool:
    """Its payer, or an administrator (association staff); nobody else."""
    return user.role is Role.ADMIN or payment.account.payer_id == user.id


def receipts_of(*, payer_id: int | None = None, account_id: int | None = None) -> list[Payment]:
    """The payments (each a receipt, `payments_staff.receipt`) of a payer's accounts or of one account,
    oldest first, with their refunds and accounts (one statement each)."""
    query = sa.select(Payment).join(FeeAccount, FeeAccount.id == Payment.account_id)
    if payer_id is not None:
        query = query.where(FeeAccount.payer_id == payer_id)
    if account_id is not None:
        query = query.where(Payment.account_id == account_id)
    if payer_id is None and account_id is None:
        return []
    options = (joinedload(Payment.account), selectinload(Payment.refunds))
    return list(db.session.scalars(query.options(*options).order_by(Payment.id)))
