"""The ledger's sums and the rules that read them. A balance is what the rows add up to:

    owed = charges not voided − payments − waivers + refunds

(negative: a credit the association owes back). Payments and waivers settle no charge in particular;
the application fee counts as paid once what was paid and waived, less refunds, covers it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import format_currency

from refportal.extensions import db
from refportal.payments.models import Charge, FeeAccount, FeeKind, Payment, Refund, Waiver


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


def totals_by_account(account_ids: Iterable[int]) -> dict[int, LedgerTotals]:
    """The sums of many accounts in four grouped statements (the staff lists)."""
    ids = list(account_ids)
    if not ids:
        return {}

    def sums(statement: sa.Select[int, int]) -> dict[int, int]:
        return {int(account_id): int(total or 0) for account_id, total in db.session.execute(statement).tuples()}

    charged = sums(
        sa.select(Charge.account_id, sa.func.sum(Charge.amount_cents))
        .where(Charge.account_id.in_(ids), Charge.voided_at.is_(None))
        .group_by(Charge.account_id)
    )
    paid = sums(
        sa.select(Payment.account_id, sa.func.sum(Payment.amount_cents))
        .where(Payment.account_id.in_(ids))
        .group_by(Payment.account_id)
    )
    waived = sums(
        sa.select(Waiver.account_id, sa.func.sum(Waiver.amount_cents))
        .where(Waiver.account_id.in_(ids))
        .group_by(Waiver.account_id)
    )
    refunded = sums(
        sa.select(Payment.account_id, sa.func.sum(Refund.amount_cents))
        .join(Refund, Refund.payment_id == Payment.id)
        .where(Payment.account_id.in_(ids))
        .group_by(Payment.account_id)
    )
    return {i: LedgerTotals(charged.get(i, 0), paid.get(i, 0), waived.get(i, 0), refunded.get(i, 0)) for i in ids}


def cents(whole_units: int | str | Decimal) -> int:
    """Whole currency units (as the fee schedule gives them) in cents."""
    return int(Decimal(whole_units) * 100)


def money(amount_cents: int, currency: str) -> str:
    """An amount as people read it in the page's language: $25.00."""
    return format_currency(Decimal(amount_cents) / 100, currency)
