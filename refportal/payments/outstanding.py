"""Staff's view of every account at once: the outstanding balances (owed, or in credit: to refund),
paged, and the CSV exports the association's accounts want. Each page is a fixed number of grouped
statements, however many accounts it shows (docs/payments.md)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from refportal.accounts.models import User
from refportal.extensions import db
from refportal.payments.ledger import LedgerTotals
from refportal.payments.models import Charge, FeeAccount, Payment, Refund, Waiver

BALANCES = ("owed", "credit", "all")  # "all": every account with a row in its ledger
KINDS = ("application", "renewal")


@dataclass(frozen=True)
class Filters:
    balance: str = "owed"
    kind: str = ""


@dataclass(frozen=True)
class AccountRow:
    account: FeeAccount
    totals: LedgerTotals
    oldest_charge: datetime | None  # the oldest charge still owed (not voided)


@dataclass(frozen=True)
class AccountsPage:
    rows: list[AccountRow]
    number: int
    per_page: int
    total: int | None  # None: more than count_limit match
    count_limit: int
    has_next: bool

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // self.per_page))


def _sums() -> tuple[Any, Any, Any, Any]:
    """The four grouped sums of every account, as subqueries to join to the accounts."""
    owed_amount = sa.case((Charge.voided_at.is_(None), Charge.amount_cents), else_=0)
    owed_since = sa.case((Charge.voided_at.is_(None), Charge.created_at), else_=None)
    charged = (
        sa.select(
            Charge.account_id.label("account_id"),
            sa.func.sum(owed_amount).label("cents"),
            sa.func.min(owed_since).label("oldest"),
        )
        .group_by(Charge.account_id)
        .subquery("charged")
    )
    paid = (
        sa.select(Payment.account_id.label("account_id"), sa.func.sum(Payment.amount_cents).label("cents"))
        .group_by(Payment.account_id)
        .subquery("paid")
    )
    waived = (
        sa.select(Waiver.account_id.label("account_id"), sa.func.sum(Waiver.amount_cents).label("cents"))
        .group_by(Waiver.account_id)
        .subquery("waived")
    )
    refunded = (
        sa.select(Payment.account_id.label("account_id"), sa.func.sum(Refund.amount_cents).label("cents"))
        .join(Refund, Refund.payment_id == Payment.id)
        .group_by(Payment.account_id)
        .subquery("refunded")
    )
    return charged, paid, waived, refunded


def _accounts(filters: Filters, *entities: Any) -> tuple[sa.Select[Any], Any]:
    """The accounts `filters` choose with their sums (charged, paid, waived, refunded, oldest)."""
    charged, paid, waived, refunded = _sums()
    zero = sa.literal(0)
    columns = (
        sa.func.coalesce(charged.c.cents, zero),
        sa.func.coalesce(paid.c.cents, zero),
        sa.func.coalesce(waived.c.cents, zero),
        sa.func.coalesce(refunded.c.cents, zero),
    )
    balance = columns[0] - columns[1] - columns[2] + columns[3]
    query = (
        sa.select(*entities, *columns, charged.c.oldest)
        .select_from(FeeAccount)
        .outerjoin(charged, charged.c.account_id == FeeAccount.id)
        .outerjoin(paid, paid.c.account_id == FeeAccount.id)
        .outerjoin(waived, waived.c.account_id == FeeAccount.id)
        .outerjoin(refunded, refunded.c.account_id == FeeAccount.id)
    )
    if filters.balance == "credit":
        query = query.where(balance < 0)
    elif filters.balance == "all":
        query = query.where(
            sa.or_(charged.c.account_id.is_not(None), paid.c.account_id.is_not(None), waived.c.account_id.is_not(None))
        )
    else:
        query = query.where(balance > 0)
    if filters.kind == "application":
        query = query.where(FeeAccount.application_id.is_not(None))
    elif filters.kind == "renewal":
        query = query.where(FeeAccount.renewal_id.is_not(None))
    return query, charged.c.oldest


def _row(found: Any) -> AccountRow:
    """(account, charged, paid, waived, refunded, oldest) as a row of the list."""
    account, charged, paid, waived, refunded, oldest = found
    return AccountRow(account, LedgerTotals(int(charged), int(paid), int(waived), int(refunded)), oldest)


def accounts_page(filters: Filters, *, page: int, per_page: int, count_limit: int) -> AccountsPage:
    """One page of the chosen accounts, the oldest charge still owed first: two statements (the count,
    capped at count_limit, and the page with its payers)."""
    ids, _ = _accounts(filters, FeeAccount.id)
    limited = ids.limit(count_limit + 1).subquery()
    matching = db.session.scalar(sa.select(sa.func.count()).select_from(limited)) or 0
    query, oldest = _accounts(filters, FeeAccount)
    found = db.session.execute(
        query.options(joinedload(FeeAccount.payer))
        .order_by(oldest.asc().nulls_last(), FeeAccount.id)
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    rows = [_row(found_row) for found_row in found[:per_page]]
    return AccountsPage(
        rows=rows,
        number=page,
        per_page=per_page,
        total=matching if matching <= count_limit else None,
        count_limit=count_limit,
        has_next=len(found) > per_page,
    )


def every_account(batch: int) -> Iterator[AccountRow]:
    """Every account with a row in its ledger, by id (the CSV export): one statement whose rows are fetched
    `batch` at a time (a server-side cursor on PostgreSQL), so memory does not grow with the accounts."""
    query, _ = _accounts(Filters(balance="all"), FeeAccount)
    statement = query.options(joinedload(FeeAccount.payer)).order_by(FeeAccount.id).execution_options(yield_per=batch)
    for found in db.session.execute(statement):
        yield _row(found)


@dataclass(frozen=True)
class LedgerLine:
    """One row of the ledger as the accounts export lists it."""

    at: Any  # when it was recorded (a payment's day received is on its receipt and the staff page)
    account_id: int
    label: str
    currency: str
    payer_name: str
    payer_email: str
    type: str  # charge, payment, waiver, refund
    kind: str  # the fee's kind, the payment's method, the waiver's kind
    reference: str
    amount_cents: int
    receipt_payment_id: int | None
    receipt_created_at: datetime | None
    voided_at: datetime | None


def ledger_rows(batch: int) -> Iterator[LedgerLine]:
    """Every row of every ledger in the order it happened (the CSV export): one UNION statement whose rows
    are fetched `batch` at a time, as every_account."""
    empty = sa.literal("")
    none_id = sa.cast(sa.null(), sa.Integer)
    none_time = sa.cast(sa.null(), Charge.created_at.type)
    parts = [
        sa.select(
            Charge.created_at.label("at"),
            sa.literal(0).label("sort"),
            Charge.id.label("row_id"),
            Charge.account_id.label("account_id"),
            sa.literal("charge").label("type"),
            sa.cast(Charge.kind, sa.String).label("kind"),
            empty.label("reference"),
            Charge.amount_cents.label("cents"),
            none_id.label("payment_id"),
            none_time.label("payment_created_at"),
            Charge.voided_at.label("voided_at"),
        ),
        sa.select(
            Payment.created_at,
            sa.literal(1),
            Payment.id,
            Payment.account_id,
            sa.literal("payment"),
            sa.cast(Payment.method, sa.String),
            Payment.reference,
            Payment.amount_cents,
            Payment.id,
            Payment.created_at,
            none_time,
        ),
        sa.select(
            Waiver.created_at,
            sa.literal(2),
            Waiver.id,
            Waiver.account_id,
            sa.literal("waiver"),
            sa.cast(Waiver.kind, sa.String),
            Waiver.reason,
            Waiver.amount_cents,
            none_id,
            none_time,
            none_time,
        ),
        sa.select(
            Refund.created_at,
            sa.literal(3),
            Refund.id,
            Payment.account_id,
            sa.literal("refund"),
            sa.cast(Payment.method, sa.String),
            Refund.reason,
            Refund.amount_cents,
            Payment.id,
            Payment.created_at,
            none_time,
        ).join(Payment, Payment.id == Refund.payment_id),
    ]
    rows = sa.union_all(*parts).subquery("ledger_rows")
    statement = (
        sa.select(rows, FeeAccount.label, FeeAccount.currency, User.name, User.email)
        .join(FeeAccount, FeeAccount.id == rows.c.account_id)
        .join(User, User.id == FeeAccount.payer_id)
        .order_by(rows.c.at, rows.c.sort, rows.c.row_id)
        .execution_options(yield_per=batch)
    )
    for row in db.session.execute(statement):
        yield _ledger_line(row)


def _ledger_line(row: Any) -> LedgerLine:
    return LedgerLine(
        at=row.at,
        account_id=row.account_id,
        label=row.label,
        currency=row.currency,
        payer_name=row.name,
        payer_email=row.email,
        type=row.type,
        kind=row.kind,
        reference=row.reference or "",
        amount_cents=int(row.cents),
        receipt_payment_id=row.payment_id,
        receipt_created_at=row.payment_created_at,
        voided_at=row.voided_at,
    )
