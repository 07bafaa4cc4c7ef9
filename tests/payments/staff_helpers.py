"""Fee accounts in given states for the staff pages' tests, and the admin's browser."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from refportal.accounts.models import Role
from refportal.db import utcnow
from refportal.extensions import db
from refportal.payments.charges import account_rows
from refportal.payments.ledger import LedgerTotals, totals_of
from refportal.payments.models import FeeAccount, FeeKind
from tests.factories import ChargeFactory, FeeAccountFactory, make_user

ADMIN_EMAIL = "admin@example.org"


@dataclass(frozen=True)
class Made:
    account_id: int
    payer_email: str


def make_admin():
    return make_user(email=ADMIN_EMAIL, name="Alex Admin", role=Role.ADMIN)


def make_account(
    *,
    email: str,
    name: str = "Pat Payer",
    charges: tuple[tuple[FeeKind, int], ...] = ((FeeKind.APPLICATION, 2500),),
    days_ago: int = 0,
    label: str | None = None,
) -> Made:
    """An applicant's draft application with a fee account and `charges` (kind, cents), posted
    `days_ago` (committed)."""
    payer = make_user(email=email, name=name)
    given = {"label": label} if label else {}
    account = FeeAccountFactory(application__applicant=payer, **given)
    for kind, amount in charges:
        ChargeFactory(account=account, kind=kind, amount_cents=amount, created_at=utcnow() - timedelta(days=days_ago))
    db.session.commit()
    return Made(account.id, email)


def totals(app, account_id: int) -> LedgerTotals:
    with app.app_context():
        account = db.session.scalar(sa.select(FeeAccount).where(FeeAccount.id == account_id).options(*account_rows()))
        assert account is not None
        return totals_of(account)


def account_url(account_id: int) -> str:
    return f"/staff/fees/accounts/{account_id}"
