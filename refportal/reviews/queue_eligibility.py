"""The queue's Eligibility column: each row's checks (applications.eligibility's rule) from its evidence
entries read as plain rows.

A page of the queue only draws a badge per row, so the entries of the rows whose eligibility is read from
them are fetched as Core rows, one statement per kind of entry, and handed to the rule in a portfolio of
their own: no ORM object is built for them (a page can hold hundreds of entries, whose instances and
identity-map bookkeeping cost more than the rest of the page). The application file, which shows and edits
the entries, loads them as objects (reviews.file_page)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from types import SimpleNamespace
from typing import Any, cast

import sqlalchemy as sa

from refportal.applications.eligibility import RequirementCheck, evaluate_eligibility
from refportal.applications.evidence import KINDS
from refportal.applications.models import Application
from refportal.extensions import db


class _ReadWithEntries:
    """The application as the eligibility rule reads it, its portfolio being the entries read as rows."""

    def __init__(self, application: Application, portfolio: SimpleNamespace | None) -> None:
        self._application = application
        self.portfolio = portfolio

    def __getattr__(self, name: str) -> Any:
        return getattr(self._application, name)


def entry_rows(portfolio_ids: Iterable[int]) -> dict[int, SimpleNamespace]:
    """The four entry lists of these portfolios, as rows (a portfolio without entries has empty lists)."""
    wanted = sorted(set(portfolio_ids))
    if not wanted:
        return {}
    lists: dict[str, defaultdict[int, list[sa.Row[Any]]]] = {kind: defaultdict(list) for kind in KINDS}
    for kind, model in KINDS.items():
        table = model.__table__
        for entry in db.session.execute(sa.select(table).where(table.c.portfolio_id.in_(wanted))):
            lists[kind][entry.portfolio_id].append(entry)
    return {pid: SimpleNamespace(**{kind: lists[kind][pid] for kind in KINDS}) for pid in wanted}


def eligibility_of(
    applications: Iterable[Application], requirements: dict, today: date
) -> dict[int, list[RequirementCheck]]:
    """Each application's eligibility checks, by its id: those read from entries in four statements
    whatever their number, the others from the totals they recorded."""
    applications = list(applications)
    portfolios = entry_rows(a.portfolio_id for a in applications if a.from_entries and a.portfolio_id is not None)
    checks = {}
    for application in applications:
        read: Any = application
        if application.from_entries:
            read = _ReadWithEntries(application, portfolios.get(application.portfolio_id or 0))
        checks[application.id] = evaluate_eligibility(cast(Application, read), requirements, today=today)
    return checks
