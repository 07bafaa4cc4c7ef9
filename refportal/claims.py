"""Tables of things to deliver (the mail outbox, webhook deliveries): due rows claimed with a lease by one
worker at a time, retried with exponential backoff.

`claim_due` is one UPDATE … RETURNING of the rows a materialised CTE chose (on PostgreSQL FOR UPDATE SKIP
LOCKED, so several workers take different rows and never wait for each other), re-checking that each is
still due; the claim is committed at once, so another worker skips the rows until the lease runs out (a
worker that died gives its rows back that way). `claim_due_columns` is the same claim returning a few
columns as plain rows, for a claimer of many rows that reads little of each (the mail sender)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql.base import ExecutableOption

from refportal.db import Base
from refportal.extensions import db
from refportal.transactions import unit_of_work

M = TypeVar("M", bound=Base)

MAX_BACKOFF = timedelta(hours=6)


def backoff(*, attempts: int, base_seconds: float) -> timedelta:
    """The wait before the next attempt: the base, doubled after each failed attempt, at most 6 hours."""
    return min(timedelta(seconds=base_seconds) * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def claim_due(
    model: type[M],
    *,
    due: sa.ColumnElement[bool],
    claim: dict[str, Any],
    limit: int,
    joins: Iterable[tuple[Any, sa.ColumnElement[bool]]] = (),
    eligible: Iterable[sa.ColumnElement[bool]] = (),
    options: Iterable[ExecutableOption] = (),
) -> list[M]:
    """Claim up to `limit` rows of `model` that are `due` (and `eligible` through `joins`, e.g. an active
    endpoint) by setting `claim` on them (a status, a lease), oldest first; committed before returning.
    `options`: loader options for the rows returned (e.g. deferring columns the claimer rarely reads)."""
    statement: Any = (
        _claim(model, due=due, claim=claim, limit=limit, joins=joins, eligible=eligible)
        .returning(model)
        .options(*options)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    with unit_of_work():
        rows = sorted(db.session.scalars(statement), key=lambda row: row.id)
    return rows


def claim_due_columns(
    model: type[M],
    *,
    due: sa.ColumnElement[bool],
    claim: dict[str, Any],
    limit: int,
    columns: Sequence[Any],
) -> list[sa.Row[Any]]:
    """claim_due for a claimer that reads a few columns of many rows (the mail sender): the claimed rows
    as plain rows of `columns` (the first one the id), oldest first, not as ORM objects; the session's
    copies of them, if any, are not updated."""
    table: sa.Table = model.__table__  # type: ignore[assignment]
    statement = _claim(table, due=due, claim=claim, limit=limit).returning(*columns)
    with unit_of_work():
        rows = sorted(db.session.execute(statement), key=lambda row: row[0])
    return rows


def _claim(
    target: Any,
    *,
    due: sa.ColumnElement[bool],
    claim: dict[str, Any],
    limit: int,
    joins: Iterable[tuple[Any, sa.ColumnElement[bool]]] = (),
    eligible: Iterable[sa.ColumnElement[bool]] = (),
) -> sa.Update:
    """The UPDATE that claims, on the mapped class or its table `target` (which has an `id`)."""
    chosen = sa.select(target.c.id if isinstance(target, sa.Table) else target.id)
    for joined, on in joins:
        chosen = chosen.join(joined, on)
    ident = chosen.selected_columns[0]
    chosen = chosen.where(due, *eligible).order_by(ident).limit(limit)
    if db.engine.dialect.name == "postgresql":
        chosen = chosen.with_for_update(skip_locked=True, of=target)
    # Chosen once (never re-run per row, which with SKIP LOCKED could claim more than `limit`), and still
    # due when updated.
    claimable = chosen.cte("claimable").prefix_with("MATERIALIZED", dialect="postgresql")
    return sa.update(target).where(ident.in_(sa.select(claimable.c.id)), due).values(**claim)
