"""Adding and removing entries, with the rules every entry keeps, and the totals the requirements read.

The rules hold whoever calls (the form checks the same first, to show its messages beside the fields):
hours in quarters between MIN_HOURS and MAX_ENTRY_HOURS, dates inside the window the owner allows (for a
renewal, the period being renewed up to today), an RSC stretch that does not end before it starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.portfolio.models import Portfolio, RscEntry, RscFormat, TrainingEntry

MIN_HOURS = Decimal("0.25")
MAX_ENTRY_HOURS = Decimal("500")
QUARTER = Decimal("0.25")


class EntryRefused(Refused):
    """The entry breaks a rule; nothing was stored."""


@dataclass(frozen=True)
class DateWindow:
    """The days an entry's dates may fall on (both ends included)."""

    first: date
    last: date

    def describe(self) -> str:
        return f"between {self.first:%d %B %Y} and {self.last:%d %B %Y}"


def hours_problem(hours: Decimal | None) -> str | None:
    """Why these hours cannot be an entry's, or None."""
    if hours is None:
        return "Enter the hours."
    if not MIN_HOURS <= hours <= MAX_ENTRY_HOURS:
        return f"Enter hours between {MIN_HOURS} and {MAX_ENTRY_HOURS:,}."
    if hours % QUARTER:
        return "Enter hours in quarters of an hour (for example 1.5 or 2.25)."
    return None


def dates_problem(first: date, last: date, window: DateWindow) -> str | None:
    """Why an entry dated `first`..`last` cannot be kept in `window`, or None."""
    if last < first:
        return "The end date is before the start date."
    if first < window.first or last > window.last:
        return f"Only training and supervision dated {window.describe()} count here."
    return None


def _refuse_if(problem: str | None) -> None:
    if problem is not None:
        raise EntryRefused(problem)


def _required_text(value: str | None, what: str, limit: int) -> str:
    text = " ".join((value or "").split())
    if not text:
        raise EntryRefused(f"Enter the {what}.")
    if len(text) > limit:
        raise EntryRefused(f"The {what} is too long (at most {limit} characters).")
    return text


def add_training(
    portfolio: Portfolio,
    *,
    window: DateWindow,
    title: str,
    provider: str,
    taken_on: date,
    hours: Decimal,
    about_rsc: bool = False,
    about_dei: bool = False,
) -> TrainingEntry:
    _refuse_if(hours_problem(hours))
    _refuse_if(dates_problem(taken_on, taken_on, window))
    entry = TrainingEntry(
        portfolio=portfolio,
        title=_required_text(title, "title", 200),
        provider=_required_text(provider, "provider", 200),
        taken_on=taken_on,
        hours=hours,
        about_rsc=about_rsc,
        about_dei=about_dei,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def add_rsc(
    portfolio: Portfolio,
    *,
    window: DateWindow,
    provider: str,
    provider_credential: str | None,
    starts_on: date,
    ends_on: date,
    hours: Decimal,
    format: RscFormat,
) -> RscEntry:
    _refuse_if(hours_problem(hours))
    _refuse_if(dates_problem(starts_on, ends_on, window))
    credential = " ".join((provider_credential or "").split()) or None
    if credential is not None and len(credential) > 120:
        raise EntryRefused("The provider's credential is too long (at most 120 characters).")
    entry = RscEntry(
        portfolio=portfolio,
        provider=_required_text(provider, "provider's name", 200),
        provider_credential=credential,
        starts_on=starts_on,
        ends_on=ends_on,
        hours=hours,
        format=format,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def remove_entry(portfolio: Portfolio, kind: type[TrainingEntry] | type[RscEntry], entry_id: int) -> bool:
    """Remove one of the portfolio's own entries; False when it has no such entry (already removed, or
    another portfolio's)."""
    result = db.session.execute(
        sa.delete(kind)
        .where(kind.id == entry_id, kind.portfolio_id == portfolio.id)
        .execution_options(synchronize_session="fetch")
    )
    db.session.expire(portfolio)
    return result.rowcount == 1  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PortfolioTotals:
    training_hours: Decimal
    rsc_training_hours: Decimal  # training on reflective supervision/consultation
    dei_training_hours: Decimal
    rsc_received_hours: Decimal


ZERO = Decimal("0")


def totals_of(portfolio: Portfolio) -> PortfolioTotals:
    """The portfolio's hours, summed from its entries."""
    training = portfolio.training
    return PortfolioTotals(
        training_hours=sum((e.hours for e in training), ZERO),
        rsc_training_hours=sum((e.hours for e in training if e.about_rsc), ZERO),
        dei_training_hours=sum((e.hours for e in training if e.about_dei), ZERO),
        rsc_received_hours=sum((e.hours for e in portfolio.rsc), ZERO),
    )
