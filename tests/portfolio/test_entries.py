"""The rules every portfolio entry keeps, at their edges: hours from 0.25 to 500 in quarters, dates inside
the owner's window (both ends included), an RSC stretch that does not end before it starts, text bounded;
removing only the portfolio's own entries; the totals."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from refportal.extensions import db
from refportal.portfolio.entries import (
    DateWindow,
    EntryRefused,
    add_rsc,
    add_training,
    hours_problem,
    remove_entry,
    totals_of,
)
from refportal.portfolio.models import Portfolio, RscEntry, RscFormat, TrainingEntry
from tests.factories import PortfolioFactory

WINDOW = DateWindow(date(2026, 1, 5), date(2026, 12, 2))
DAY = timedelta(days=1)


def training(portfolio: Portfolio, *, hours: str = "1", taken_on: date = date(2026, 6, 1), **extra) -> TrainingEntry:
    return add_training(
        portfolio,
        window=WINDOW,
        title=extra.pop("title", "Attachment"),
        provider=extra.pop("provider", "Association"),
        taken_on=taken_on,
        hours=Decimal(hours),
        **extra,
    )


def rsc(portfolio: Portfolio, *, hours: str = "1", starts_on=date(2026, 2, 1), ends_on=date(2026, 3, 1)) -> RscEntry:
    return add_rsc(
        portfolio,
        window=WINDOW,
        provider="Morgan Reyes",
        provider_credential=None,
        starts_on=starts_on,
        ends_on=ends_on,
        hours=Decimal(hours),
        format=RscFormat.GROUP,
    )


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count(model.id)))


@pytest.mark.parametrize("hours", ["0.25", "0.5", "1.75", "499.75", "500"])
def test_hours_in_quarters_from_a_quarter_to_500_are_kept(app_ctx, hours):
    portfolio = PortfolioFactory()
    assert training(portfolio, hours=hours).hours == Decimal(hours)
    assert rsc(portfolio, hours=hours).hours == Decimal(hours)


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("0", "between 0.25 and 500"),
        ("0.24", "between 0.25 and 500"),
        ("-0.25", "between 0.25 and 500"),
        ("500.25", "between 0.25 and 500"),
        ("0.3", "quarters of an hour"),
        ("1.1", "quarters of an hour"),
        ("2.26", "quarters of an hour"),
    ],
)
def test_hours_outside_the_range_or_not_in_quarters_are_refused(app_ctx, hours, message):
    portfolio = PortfolioFactory()
    with pytest.raises(EntryRefused, match=message):
        training(portfolio, hours=hours)
    with pytest.raises(EntryRefused, match=message):
        rsc(portfolio, hours=hours)
    assert (count(TrainingEntry), count(RscEntry)) == (0, 0)


def test_no_hours_is_its_own_message():
    assert hours_problem(None) == "Enter the hours."


def test_the_windows_own_edges_are_inside_it(app_ctx):
    portfolio = PortfolioFactory()
    training(portfolio, taken_on=WINDOW.first)
    training(portfolio, taken_on=WINDOW.last)
    rsc(portfolio, starts_on=WINDOW.first, ends_on=WINDOW.last)
    rsc(portfolio, starts_on=WINDOW.last, ends_on=WINDOW.last)  # one day
    assert (count(TrainingEntry), count(RscEntry)) == (2, 2)


@pytest.mark.parametrize("taken_on", [WINDOW.first - DAY, WINDOW.last + DAY])
def test_training_the_day_outside_the_window_is_refused(app_ctx, taken_on):
    with pytest.raises(EntryRefused, match="between 05 January 2026 and 02 December 2026"):
        training(PortfolioFactory(), taken_on=taken_on)
    assert count(TrainingEntry) == 0


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "message"),
    [
        (WINDOW.first - DAY, WINDOW.first, "Only training and supervision dated between"),
        (WINDOW.last, WINDOW.last + DAY, "Only training and supervision dated between"),
        (date(2026, 3, 2), date(2026, 3, 1), "The end date is before the start date."),
    ],
)
def test_rsc_outside_the_window_or_ending_before_it_starts_is_refused(app_ctx, starts_on, ends_on, message):
    with pytest.raises(EntryRefused, match=message):
        rsc(PortfolioFactory(), starts_on=starts_on, ends_on=ends_on)
    assert count(RscEntry) == 0


def test_text_is_required_collapsed_and_bounded(app_ctx):
    portfolio = PortfolioFactory()
    assert training(portfolio, title="  Attachment \t and   loss ").title == "Attachment and loss"
    assert training(portfolio, title="x" * 200).title == "x" * 200
    with pytest.raises(EntryRefused, match="at most 200 characters"):
        training(portfolio, title="x" * 201)
    with pytest.raises(EntryRefused, match="Enter the provider."):
        training(portfolio, provider="   ")
    markup = "<b>Attachment</b>"
    assert training(portfolio, title=markup).title == markup  # kept as text; pages escape it
    assert count(TrainingEntry) == 3


def test_removing_takes_only_the_portfolios_own_entries(app_ctx):
    mine, theirs = PortfolioFactory(), PortfolioFactory()
    their_rsc = rsc(theirs)
    entry = training(mine)
    other = training(theirs)
    session_rsc = rsc(mine)
    assert remove_entry(mine, TrainingEntry, other.id) is False
    assert remove_entry(mine, TrainingEntry, 999_999) is False
    assert remove_entry(mine, RscEntry, their_rsc.id) is False
    assert count(TrainingEntry) == 2
    assert remove_entry(mine, TrainingEntry, entry.id) is True
    assert remove_entry(mine, TrainingEntry, entry.id) is False  # already removed
    assert [e.id for e in db.session.scalars(sa.select(TrainingEntry))] == [other.id]
    assert remove_entry(mine, RscEntry, session_rsc.id) is True


def test_totals_add_each_kind_of_hours(app_ctx):
    portfolio = PortfolioFactory()
    training(portfolio, hours="10")
    training(portfolio, hours="2.5", about_rsc=True)
    training(portfolio, hours="1.25", about_dei=True)
    training(portfolio, hours="0.25", about_rsc=True, about_dei=True)
    rsc(portfolio, hours="6")
    rsc(portfolio, hours="5.75")
    db.session.expire(portfolio)
    totals = totals_of(portfolio)
    assert totals.training_hours == Decimal("14")
    assert totals.rsc_training_hours == Decimal("2.75")
    assert totals.dei_training_hours == Decimal("1.5")
    assert totals.rsc_received_hours == Decimal("11.75")
    assert totals_of(PortfolioFactory()).training_hours == 0
