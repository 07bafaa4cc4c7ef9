"""The reviewers' queue: the applications the filters select, in an indexed order, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager

from refportal.accounts.models import User
from refportal.applications.lifecycle import UNDECIDED, ApplicationStatus
from refportal.applications.models import Application
from refportal.applications.verdicts import all_verified_clause, open_verdict_exists
from refportal.extensions import db
from refportal.membership.models import MembershipDeclaration, MembershipStatus
from refportal.reviews.models import Review, ReviewAssignment
from refportal.submission.completeness import complete_clause, counted_ratings


@dataclass(frozen=True)
class QueueFilters:
    q: str = ""
    credential: str = ""
    category: int | None = None
    status: str = ""
    membership: str = ""  # a MembershipStatus value, or "none"
    completeness: str = ""  # "complete" | "incomplete"
    verdicts: str = ""  # "needs_more": an item not verified or needing more; "verified": every item verified
    submitted_from: date | None = None
    submitted_to: date | None = None
    sort: str = "submitted"
    review_round_id: int | None = None
    assigned_to: int | None = None  # a reviewer's id: only the files assigned to them
    short_of_reviewers: bool = False  # only undecided files with fewer than REVIEWERS_PER_FILE reviewers


# Each order is served by an index (see Application and User), so a page costs the same at any size.
SORTS = {
    "submitted": (Application.submitted_at.desc().nulls_last(), Application.id.desc()),
    "oldest": (Application.submitted_at.asc().nulls_last(), Application.id),
    "created": (Application.created_at.desc(), Application.id.desc()),
    "name": (User.name, User.id, Application.id),
}


def _reviews_this_round() -> sa.ScalarSelect[int]:
    return (
        sa.select(sa.func.count(Review.id))
        .where(Review.application_id == Application.id, Review.cycle == Application.review_cycle)
        .correlate(Application)
        .scalar_subquery()
    )


def _membership_is(status: str, today: date) -> sa.ColumnElement[bool]:
    if status == "none":
        return MembershipDeclaration.id.is_(None)
    return MembershipDeclaration.status_on_is(MembershipStatus(status), today)


def _filtered(filters: QueueFilters, today: date, *columns: Any, ordered: bool = False) -> sa.Select[Any]:
    """The applications the filters select; the applicant and membership are joined only when a
    filter or the order (`ordered`) needs them, so the common pages read the application table alone."""
    query = sa.select(*columns).select_from(Application)
    if filters.q or (ordered and filters.sort == "name"):
        query = query.join(User, Application.applicant_id == User.id)
    if filters.membership or filters.completeness:
        query = query.outerjoin(MembershipDeclaration, MembershipDeclaration.application_id == Application.id)
    if filters.q:
        # The typed text is matched as it is: % and _ are no wildcards (SQLAlchemy escapes them).
        typed = filters.q.lower()
        query = query.where(
            sa.or_(
                sa.func.lower(User.name).contains(typed, autoescape=True),
                sa.func.lower(User.email).contains(typed, autoescape=True),
            )
        )
    if filters.credential:
        query = query.where(Application.credential == filters.credential)
    if filters.category:
        query = query.where(Application.category == filters.category)
    if filters.status:
        query = query.where(Application.status == ApplicationStatus(filters.status))
    if filters.review_round_id:
        query = query.where(Application.review_round_id == filters.review_round_id)
    if filters.assigned_to:
        query = query.where(
            sa.exists().where(
                ReviewAssignment.application_id == Application.id, ReviewAssignment.reviewer_id == filters.assigned_to
            )
        )
    if filters.short_of_reviewers:
        assigned = (
            sa.select(sa.func.count(ReviewAssignment.id))
            .where(ReviewAssignment.application_id == Application.id)
            .scalar_subquery()
        )
        query = query.where(
            Application.status.in_(UNDECIDED),
            assigned < current_app.config["REVIEWERS_PER_FILE"],
        )
    if filters.membership:
        query = query.where(_membership_is(filters.membership, today))
    if filters.completeness:
        complete = complete_clause(today, current_app.config["ELIGIBILITY_REQUIREMENTS"])
        query = query.where(complete if filters.completeness == "complete" else sa.not_(complete))
    if filters.verdicts == "needs_more":  # the reviewers' current verdicts of the file's cycle
        query = query.where(open_verdict_exists())
    elif filters.verdicts == "verified":
        query = query.where(all_verified_clause())
    if filters.submitted_from:
        query = query.where(Application.submitted_at >= datetime.combine(filters.submitted_from, time.min, UTC))
    if filters.submitted_to:
        end = datetime.combine(filters.submitted_to + timedelta(days=1), time.min, UTC)
        query = query.where(Application.submitted_at < end)
    return query


@dataclass(frozen=True)
class QueueRow:
    application: Application
    membership: MembershipDeclaration | None
    counted: int
    reviews: int


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    number: int
    per_page: int
    total: int | None  # None: more than `count_limit` applications match
    count_limit: int
    has_next: bool

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // self.per_page))


def queue_page(filters: QueueFilters, *, page: int, per_page: int, today: date, count_limit: int) -> QueuePage:
    """One page of the filtered queue: two statements, and the same work at any number of rows.

    The total is counted exactly up to `count_limit` (beyond it the page says "more than"), so the
    count stops early instead of reading every application; the page's ids are chosen first (filter,
    indexed order, limit), so the per-row counts are computed for those rows only."""
    limited = _filtered(filters, today, Application.id).limit(count_limit + 1).subquery()
    matching = db.session.scalar(sa.select(sa.func.count()).select_from(limited)) or 0
    # One more row than shown: is there a next page?
    ids = page_ids(filters, today, offset=(page - 1) * per_page, limit=per_page + 1)
    shown = _rows(ids.subquery(), _order(filters))
    return QueuePage(
        rows=shown[:per_page],
        number=page,
        per_page=per_page,
        total=matching if matching <= count_limit else None,
        count_limit=count_limit,
        has_next=len(shown) > per_page,
    )


def page_ids(filters: QueueFilters, today: date, *, offset: int, limit: int) -> sa.Select[Any]:
    """The ids of one page, in the chosen order: read from that order's index, stopping at the page."""
    return (
        _filtered(filters, today, Application.id, ordered=True).order_by(*_order(filters)).offset(offset).limit(limit)
    )


def _order(filters: QueueFilters) -> tuple[Any, ...]:
    return SORTS.get(filters.sort, SORTS["submitted"])


def queue_rows(filters: QueueFilters, today: date) -> list[QueueRow]:
    """Every row the filters select, in order (for the CSV export)."""
    return _rows(_filtered(filters, today, Application.id, ordered=True).subquery(), _order(filters))


def _rows(ids: sa.Subquery, order: tuple[Any, ...]) -> list[QueueRow]:
    """The queue rows of the applications in the subquery `ids`, with their per-row counts."""
    rows = db.session.execute(
        sa.select(
            Application,
            MembershipDeclaration,
            counted_ratings().label("counted"),
            _reviews_this_round().label("reviews"),
        )
        .join(ids, ids.c.id == Application.id)
        .join(User, Application.applicant_id == User.id)
        .outerjoin(MembershipDeclaration, MembershipDeclaration.application_id == Application.id)
        .options(contains_eager(Application.applicant))
        .order_by(*order)
    ).all()
    return [QueueRow(app, membership, counted_n, reviews_n) for app, membership, counted_n, reviews_n in rows]
