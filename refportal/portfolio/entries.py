"""Adding and removing entries, with the rules every entry keeps, and the totals the requirements read.

Education and work entries (an application's evidence) keep their own rules: a year completed between
EARLIEST_YEAR and this year; work that starts in or after EARLIEST_YEAR, does not end before it starts, is not
dated in the future, for 1 to MAX_HOURS_PER_WEEK hours a week.

Text is normalised before it is kept: control characters become spaces, runs of white space one space.

The rules hold whoever calls (the form checks the same first, to show its messages beside the fields):
hours in quarters between MIN_HOURS and MAX_ENTRY_HOURS, dates inside the window the owner allows (for a
renewal, the period being renewed up to today), an RSC stretch that does not end before it starts."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.portfolio.models import EducationEntry, Portfolio, RscEntry, RscFormat, TrainingEntry, WorkEntry

MIN_HOURS = Decimal("0.25")
MAX_ENTRY_HOURS = Decimal("500")
QUARTER = Decimal("0.25")
EARLIEST_YEAR = 1950
MAX_HOURS_PER_WEEK = 80


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
    if not hours.is_finite():  # NaN and infinity compare with nothing
        return f"Enter hours between {MIN_HOURS} and {MAX_ENTRY_HOURS:,}."
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


def clean_text(value: str | None) -> str:
    """One line of text: NFC, control characters as spaces, white space runs as one space, trimmed."""
    text = unicodedata.normalize("NFC", value or "")
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text)
    return " ".join(text.split())


def _required_text(value: str | None, what: str, limit: int) -> str:
    text = clean_text(value)
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
    credential = clean_text(provider_credential) or None
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


EntryKind = type[TrainingEntry] | type[RscEntry] | type[EducationEntry] | type[WorkEntry]


def remove_entry(portfolio: Portfolio, kind: EntryKind, entry_id: int) -> bool:
    """Remove one of the portfolio's own entries; False when it has no such entry (already removed, or
    another portfolio's)."""
    result = db.session.execute(
        sa.delete(kind)
        .where(kind.id == entry_id, kind.portfolio_id == portfolio.id)
        .execution_options(synchronize_session="fetch")
    )
    db.session.expire(portfolio)
    return result.rowcount == 1  # type: ignore[attr-defined]


def history_window(today: date) -> DateWindow:
    """Every day an application's evidence may be dated on: from EARLIEST_YEAR up to today."""
    return DateWindow(date(EARLIEST_YEAR, 1, 1), today)


def year_problem(year: int | None, today: date) -> str | None:
    """Why `year` cannot be the year a degree was completed, or None."""
    if year is None:
        return "Enter the year you completed it."
    if not EARLIEST_YEAR <= year <= today.year:
        return f"Enter a year between {EARLIEST_YEAR} and {today.year}."
    return None


def hours_per_week_problem(hours: int | None) -> str | None:
    if hours is None:
        return "Enter the hours a week."
    if not 1 <= hours <= MAX_HOURS_PER_WEEK:
        return f"Enter hours a week between 1 and {MAX_HOURS_PER_WEEK}."
    return None


def work_dates_problem(starts_on: date | None, ends_on: date | None, today: date) -> str | None:
    """Why work from `starts_on` to `ends_on` (None: ongoing) cannot be an entry's, or None."""
    if starts_on is None:
        return "Enter the date the work started."
    if starts_on.year < EARLIEST_YEAR:
        return f"Enter a start date in {EARLIEST_YEAR} or later."
    if starts_on > today:
        return "The start date is in the future."
    if ends_on is not None and ends_on < starts_on:
        return "The end date is before the start date."
    if ends_on is not None and ends_on > today:
        return "The end date is in the future (leave it empty while the work goes on)."
    return None


def add_education(
    portfolio: Portfolio, *, level: str, field_of_study: str, institution: str, year_completed: int, today: date
) -> EducationEntry:
    """A completed degree or credential; `level` is the owner's name for it, checked by the owner."""
    _refuse_if(year_problem(year_completed, today))
    entry = EducationEntry(
        portfolio=portfolio,
        level=_required_text(level, "level", 32),
        field_of_study=_required_text(field_of_study, "field of study", 200),
        institution=_required_text(institution, "institution", 200),
        year_completed=year_completed,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def add_work(
    portfolio: Portfolio,
    *,
    employer: str,
    role: str,
    starts_on: date,
    ends_on: date | None,
    hours_per_week: int,
    serves_0_3: bool,
    serves_3_6: bool,
    description: str | None,
    today: date,
) -> WorkEntry:
    _refuse_if(hours_per_week_problem(hours_per_week))
    _refuse_if(work_dates_problem(starts_on, ends_on, today))
    about = clean_text(description) or None
    if about is not None and len(about) > 1000:
        raise EntryRefused("The description is too long (at most 1000 characters).")
    entry = WorkEntry(
        portfolio=portfolio,
        employer=_required_text(employer, "employer", 200),
        role=_required_text(role, "role", 200),
        starts_on=starts_on,
        ends_on=ends_on,
        hours_per_week=hours_per_week,
        serves_0_3=bool(serves_0_3),
        serves_3_6=bool(serves_3_6),
        description=about,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


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
