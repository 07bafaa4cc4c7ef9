"""Review rounds: created by administrators (a quarterly calendar is suggested), joined by each
application submitted within a round's period, with a progress page per round."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import User
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.reviews.models import ReviewRound
from refportal.reviews.progress import (
    RoundProgress,
    change_files,
    refresh_pending,
    round_progress,
    rounds_with_tallies,
)


@dataclass(frozen=True)
class RoundDates:
    name: str
    opens_on: date
    submission_deadline: date
    review_due: date


def next_quarter(today: date) -> RoundDates:
    """The suggested next round (`suggested_round`) after the latest round's deadline."""
    latest = db.session.scalar(sa.select(sa.func.max(ReviewRound.submission_deadline)))
    return suggested_round(latest, today, review_days=current_app.config["REVIEW_ROUND_REVIEW_DAYS"])


def suggested_round(latest_deadline: date | None, today: date, *, review_days: int) -> RoundDates:
    """The rest of the calendar quarter after `latest_deadline` (or the current quarter without one), with
    reviews due `review_days` after its deadline."""
    try:
        return _quarter_from(latest_deadline + timedelta(days=1) if latest_deadline else None, today, review_days)
    except (OverflowError, ValueError):  # a round kept from before dates were checked ends near year 9999
        return _quarter_from(None, today, review_days)


def _quarter_from(day: date | None, today: date, review_days: int) -> RoundDates:
    """The rest of the quarter from `day`, or the whole current quarter without one."""
    start = day or today
    quarter = (start.month - 1) // 3 + 1
    opens_on = day or date(start.year, 3 * quarter - 2, 1)
    next_quarter_starts = date(start.year + 1, 1, 1) if quarter == 4 else date(start.year, 3 * quarter + 1, 1)
    deadline = next_quarter_starts - timedelta(days=1)
    return RoundDates(
        name=f"{start.year} Q{quarter}",
        opens_on=opens_on,
        submission_deadline=deadline,
        review_due=deadline + timedelta(days=review_days),
    )


_ROUND_NAMES = sa.select(ReviewRound.id, ReviewRound.name).order_by(ReviewRound.submission_deadline.desc())


def round_names() -> Sequence[sa.Row[int, str]]:
    """Every round's id and name, newest first (the choices of a filter: rows, no object is built)."""
    return db.session.execute(_ROUND_NAMES).all()


def round_covering(day: date) -> ReviewRound | None:
    """The round whose period covers `day` (the earliest deadline if periods touch)."""
    return db.session.scalars(
        sa.select(ReviewRound)
        .where(ReviewRound.opens_on <= day, ReviewRound.submission_deadline >= day)
        .order_by(ReviewRound.submission_deadline)
        .limit(1)
    ).first()


def join_round_on_submission(sender: object, *, application: Application) -> None:
    """Subscribed to applications.lifecycle.submitted."""
    join_round(application)


def join_round(application: Application) -> None:
    """On submission: the application joins the round covering that day (a resubmission after "more
    information" stays in the round it joined)."""
    if application.review_round_id is None and application.submitted_at is not None:
        covering = round_covering(application.submitted_at.date())
        application.review_round_id = covering.id if covering is not None else None


def create_round(*, name: str, opens_on: date, submission_deadline: date, review_due: date, actor: User) -> ReviewRound:
    """A new round; submitted applications in its period that have no round yet join it."""
    name = " ".join(name.split())
    if not name:
        raise Refused("Give the round a name.", field="name")
    if submission_deadline < opens_on:
        raise Refused("The submission deadline cannot come before the round opens.", field="submission_deadline")
    if review_due < submission_deadline:
        raise Refused("Reviews cannot be due before the submission deadline.", field="review_due")
    if db.session.scalar(sa.select(ReviewRound.id).where(sa.func.lower(ReviewRound.name) == name.lower())):
        raise Refused(f"There is a round called {name} already.", field="name")
    overlapping = db.session.scalars(
        sa.select(ReviewRound).where(
            ReviewRound.opens_on <= submission_deadline, ReviewRound.submission_deadline >= opens_on
        )
    ).first()
    if overlapping is not None:
        raise Refused(
            f"Its period overlaps round {overlapping.name} ({overlapping.opens_on} to "
            f"{overlapping.submission_deadline}): a submission must belong to one round.",
            field="opens_on",
        )
    review_round = ReviewRound(
        name=name, opens_on=opens_on, submission_deadline=submission_deadline, review_due=review_due
    )
    db.session.add(review_round)
    db.session.flush()
    joined = change_files(  # the files joining are counted in the round's progress
        sa.update(Application)
        .where(
            Application.review_round_id.is_(None),
            Application.submitted_at.is_not(None),
            sa.func.date(Application.submitted_at) >= opens_on,
            sa.func.date(Application.submitted_at) <= submission_deadline,
        )
        .values(review_round_id=review_round.id)
        .execution_options(synchronize_session=False)
    )
    record(
        AuditAction.REVIEW_ROUND_CREATED,
        obj=review_round,
        actor=actor,
        name=name,
        opens_on=str(opens_on),
        deadline=str(submission_deadline),
        due=str(review_due),
        joined=len(joined),
    )
    return review_round


def can_be_deleted(review_round: ReviewRound) -> bool:
    """A round no application has joined (opened by mistake, or with the wrong dates) may be deleted."""
    return db.session.scalar(sa.select(Application.id).where(Application.review_round_id == review_round.id)) is None


def delete_round(*, review_round: ReviewRound, actor: User) -> None:
    """Delete a round no application has joined."""
    if not can_be_deleted(review_round):
        raise Refused(f"Applications have joined round {review_round.name}: it cannot be deleted.")
    record(AuditAction.REVIEW_ROUND_DELETED, obj=review_round, actor=actor, name=review_round.name)
    db.session.delete(review_round)


# The columns of a round the rounds page shows (read as plain rows: no object is built for a list).
ROUND_COLUMNS = (
    ReviewRound.id,
    ReviewRound.name,
    ReviewRound.opens_on,
    ReviewRound.submission_deadline,
    ReviewRound.review_due,
)


@functools.cache
def _rounds_statement(per_file: int) -> sa.Select[Any]:
    """Built once per setting: the same statement at every request, so building it costs nothing and
    SQLAlchemy's cache finds its compiled form at once."""
    return rounds_with_tallies(*ROUND_COLUMNS, per_file=per_file).order_by(ReviewRound.submission_deadline.desc())


def rounds_with_progress(today: date) -> list[tuple[sa.Row[Any], RoundProgress]]:
    """Every round (its ROUND_COLUMNS), newest first, with its progress: one statement over the rounds and
    their stored tallies (reviews/progress.py), whatever the number of files."""
    refresh_pending()  # what this transaction changed, counted before it is read
    rows = db.session.execute(_rounds_statement(current_app.config["REVIEWERS_PER_FILE"])).all()
    width = len(ROUND_COLUMNS)
    return [
        (row, round_progress(*(int(n) for n in row[width:]), review_due=row.review_due, today=today)) for row in rows
    ]
