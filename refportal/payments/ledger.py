"""The ledger's sums and the rules that read them. A balance is what the rows add up to:

    owed = charges not voided − payments − waivers + refunds

(negative: a credit the association owes back). Payments and waivers settle no charge in particular;
the application fee counts as paid once what was paid and waived, less refunds, covers it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_babel import format_currency

from refportal.payments.models import FeeAccount, FeeKind, Payment


@dataclass(frozen=True)
class LedgerTotals:
    charged: int = 0  # cents of every charge still owed (not voided)
    paid: int = 0
    waived: int = 0
    refunded: int = 0

    @property
    def settled(self) -> int:
        """What counts against the charges: paid and waived, less what was given back."""
        return self.paid + self.waived - self.refunded

    @property
    def balance(self) -> int:
        """What is still owed (negative: a credit)."""
        return self.charged - self.settled


def totals_of(account: FeeAccount) -> LedgerTotals:
    """The sums of one account, from its rows (loaded with it)."""
    payments = account.payments
    return LedgerTotals(
        charged=sum(charge.amount_cents for charge in account.charges if charge.is_owed),
        paid=sum(payment.amount_cents for payment in payments),
        waived=sum(waiver.amount_cents for waiver in account.waivers),
        refunded=sum(payment.refunded_cents for payment in payments),
    )


def owed_for(account: FeeAccount, kinds: Iterable[FeeKind]) -> int:
    """Cents still owed of the charges of `kinds`, the first thing settled (what is due first)."""
    wanted = set(kinds)
    due = sum(charge.amount_cents for charge in account.charges if charge.is_owed and charge.kind in wanted)
    return max(0, due - totals_of(account).settled)


def cents(whole_units: int | str | float | Decimal) -> int:
    """Whole currency units (as the fee schedule gives them, 19.99 included) in exact cents; a value
    that is not a non-negative amount of at most two decimals is a configuration error."""
    try:
        amount = Decimal(str(whole_units)) * 100
    except ArithmeticError as exc:
        raise ValueError(f"{whole_units!r} is not an amount") from exc
    if not amount.is_finite() or amount < 0 or amount != amount.to_integral_value():
        raise ValueError(f"{whole_units!r} is not an amount of at most two decimals, 0 or more")
    return int(amount)


def money(amount_cents: int, currency: str) -> str:
    """An amount as people read it in the page's language: $25.00."""
    return format_currency(Decimal(amount_cents) / 100, currency)


@dataclass(frozen=True)
class StatementLine:
    """One row of an account's statement: a charge (+), a payment or waiver (−), a refund (+)."""

    on: date
    label: str
    amount_cents: int  # signed: what it adds to the balance
    kind: str  # charge, voided, payment, waiver, refund
    payment: Payment | None = None  # the payment (for its receipt), or the one refunded


def statement_of(account: FeeAccount) -> list[StatementLine]:
    """Every row of the account in the order it happened (a voided charge shown at nothing), as its payer
    sees it: a waiver by its kind and amount, never staff's reason for it."""
    lines: list[tuple[datetime, StatementLine]] = []
    for charge in account.charges:
        voided = charge.voided_at is not None
        lines.append(
            (
                charge.created_at,
                StatementLine(
                    charge.created_at.date(),
                    charge.kind.label + (" (no longer owed)" if voided else ""),
                    0 if voided else charge.amount_cents,
                    "voided" if voided else "charge",
                ),
            )
        )
    for payment in account.payments:
        by = payment.method.label + (f", {payment.reference}" if payment.reference else "")
        lines.append(
            (
                payment.created_at,
                StatementLine(payment.received_on, f"Payment ({by})", -payment.amount_cents, "payment", payment),
            )
        )
        for refund in payment.refunds:
            lines.append(
                (
                    refund.created_at,
                    StatementLine(
                        refund.created_at.date(),
                        f"Refund of receipt {payment.receipt_number}",
                        refund.amount_cents,
                        "refund",
                        payment,
                    ),
                )
            )
    for waiver in account.waivers:
        lines.append(
            (
                waiver.created_at,
                StatementLine(waiver.created_at.date(), waiver.kind.label, -waiver.amount_cents, "waiver"),
            )
        )
    return [line for _, line in sorted(lines, key=lambda pair: pair[0])]
