"""Posting what is owed: an account per application or renewal, a charge per fee. Both are created
on first need and never twice (unique keys, insert-or-nothing), so two requests at once post one;
a charge keeps the amount of the schedule it was posted under."""

from __future__ import annotations

import functools
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import joinedload, selectinload

from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import rows_changed, utcnow
from refportal.extensions import db
from refportal.payments.models import Charge, FeeAccount, FeeKind, Payment


def account_rows() -> tuple[Any, ...]:
    """The loader options of an account with its charges, payments (and their refunds) and waivers: built on
    call, since a loader option configures every mapper, which needs every model imported first."""
    return (
        selectinload(FeeAccount.charges),
        selectinload(FeeAccount.payments).selectinload(Payment.refunds),
        selectinload(FeeAccount.waivers),
    )


def insert_statement(model: Any) -> Any:
    """An INSERT of `model` in this database's dialect (it takes `on_conflict_do_nothing`: insert-or-nothing)."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(cast("sa.Table", model.__table__))


def find_account(*, application_id: int | None = None, renewal_id: int | None = None) -> FeeAccount | None:
    """The account of an application or a renewal with its rows, if one was opened."""
    statement = _account_with_rows(application_id is None)
    subject_id = application_id if application_id is not None else renewal_id
    return db.session.scalars(statement, {"subject_id": subject_id}).unique().one_or_none()


@functools.cache
def _account_with_rows(of_renewal: bool) -> sa.Select:
    """find_account's statement (one: an account has a few rows of each kind), built once for each kind of
    subject: a request binds its id."""
    column = FeeAccount.renewal_id if of_renewal else FeeAccount.application_id
    return (
        sa.select(FeeAccount)
        .where(column == sa.bindparam("subject_id"))
        .options(
            joinedload(FeeAccount.charges),
            joinedload(FeeAccount.payments).joinedload(Payment.refunds),
            joinedload(FeeAccount.waivers),
        )
        .execution_options(populate_existing=True)
    )


def open_account(
    *, payer_id: int, label: str, currency: str, application_id: int | None = None, renewal_id: int | None = None
) -> FeeAccount:
    """The account of an application or a renewal, opened now if it has none."""
    assert (application_id is None) != (renewal_id is None)
    account = find_account(application_id=application_id, renewal_id=renewal_id)
    if account is not None:
        return account
    key = "application_id" if application_id is not None else "renewal_id"
    db.session.execute(
        insert_statement(FeeAccount)
        .values(
            payer_id=payer_id,
            application_id=application_id,
            renewal_id=renewal_id,
            label=label[:200],
            currency=currency.upper(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=[key])
    )
    account = find_account(application_id=application_id, renewal_id=renewal_id)
    assert account is not None
    return account


def set_owed(account: FeeAccount, kind: FeeKind, amount_cents: int, *, owed: bool = True, actor: Any = None) -> bool:
    """Make `kind` owed (posting it at `amount_cents` if it never was, restoring it if it was voided)
    or not owed (voiding it). Returns whether the ledger changed."""
    charge = next((c for c in account.charges if c.kind is kind), None)
    if owed:
        if charge is None:
            if amount_cents <= 0:
                return False  # a fee of nothing is not charged
            return _post(account, kind, amount_cents, actor)
        if charge.voided_at is not None:
            return _change_void(account, charge, voided=False, actor=actor)
        return False
    if charge is not None and charge.voided_at is None:
        return _change_void(account, charge, voided=True, actor=actor)
    return False


def _post(account: FeeAccount, kind: FeeKind, amount_cents: int, actor: Any) -> bool:
    result = db.session.execute(
        insert_statement(Charge)
        .values(account_id=account.id, kind=kind, amount_cents=amount_cents, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["account_id", "kind"])
        .returning(Charge.__table__.c.id)
    )
    charge_id = result.scalar_one_or_none()
    db.session.expire(account, ["charges"])
    if charge_id is None:
        return False  # another request posted it first
    charge = db.session.get(Charge, charge_id)
    record(AuditAction.FEE_CHARGED, obj=charge, actor=actor, account=account.id, kind=kind.value, cents=amount_cents)
    return True


def _change_void(account: FeeAccount, charge: Charge, *, voided: bool, actor: Any) -> bool:
    """Void or restore a charge with one conditional UPDATE (two requests change it once)."""
    changed = rows_changed(
        db.session,
        sa.update(Charge)
        .where(Charge.id == charge.id, Charge.voided_at.is_(None) if voided else Charge.voided_at.is_not(None))
        .values(voided_at=utcnow() if voided else None),
    )
    db.session.expire(charge)
    db.session.expire(account, ["charges"])
    if not changed:
        return False
    record(
        AuditAction.FEE_CHARGE_VOIDED if voided else AuditAction.FEE_CHARGE_RESTORED,
        obj=charge,
        actor=actor,
        account=account.id,
        kind=charge.kind.value,
    )
    return True
