"""Receipts: one per payment, e-mailed when it is recorded and printable from the payer's pages."""

from __future__ import annotations

from flask import current_app

from refportal.mail.services import queue_email
from refportal.payments.ledger import money
from refportal.payments.models import Payment


def association_lines() -> list[str]:
    """The association's name and details (ASSOCIATION_ADDRESS, lines separated by ";")."""
    config = current_app.config
    details = [line.strip() for line in config["ASSOCIATION_ADDRESS"].split(";") if line.strip()]
    return [config["ASSOCIATION_NAME"], *details, config["ASSOCIATION_EMAIL"]]


def queue_receipt(payment: Payment) -> None:
    """E-mail the receipt of `payment` to its payer. Context: the payment, its account (what it paid
    for), the payer, the amount as text, and the association's lines."""
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
    )
