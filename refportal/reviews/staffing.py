"""What the review pages show of who reviews what: the file's reviewers, a reviewer's assigned files,
a round's load per reviewer."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import Role, User
from refportal.applications.lifecycle import UNDECIDED
from refportal.applications.models import Application
from refportal.extensions import db
from refportal.reviews.assignments import active_reviewers
from refportal.reviews.conflicts import conflicts_of
from refportal.reviews.models import Review, ReviewAssignment, ReviewRound


@dataclass(frozen=True)
class AssignedReviewer:
    assignment: ReviewAssignment
    reviewer: User
    reviewed: bool  # recorded a review in the file's current cycle


@dataclass(frozen=True)
class Staffing:
    review_round: ReviewRound | None
    assigned: list[AssignedReviewer]
    conflicts: dict[int, list[str]]  # reviewer id -> causes (administrators: every reviewer's)
    reviewers: dict[int, User]
    candidates: list[User]  # whom an administrator may assign now
    my_conflicts: list[str]
    assigned_to_me: bool
    recused: bool
    needed: int

    @property
    def short(self) -> int:
        return max(0, self.needed - len(self.assigned))


def staffing_of(application: Application, viewer: User, reviews: Iterable[Review] | None = None) -> Staffing:
    """Who reviews the file, who may not and why, and what the viewer may do about it. `reviews`: the
    file's reviews (every cycle), where the caller has them already (the file page); else read."""
    rows = db.session.execute(
        sa.select(ReviewAssignment, User)
        .join(User, ReviewAssignment.reviewer_id == User.id)
        .where(ReviewAssignment.application_id == application.id)
        .order_by(ReviewAssignment.assigned_at, ReviewAssignment.id)
    ).all()
    if reviews is None:
        reviewed_by = set(
            db.session.scalars(
                sa.select(Review.reviewer_id).where(
                    Review.application_id == application.id, Review.cycle == application.review_cycle
                )
            )
        )
    else:
        reviewed_by = {review.reviewer_id for review in reviews if review.cycle == application.review_cycle}
    assigned = [AssignedReviewer(row[0], row[1], row[1].id in reviewed_by) for row in rows]
    people = {row[1].id: row[1] for row in rows}
    if viewer.role is Role.ADMIN:
        people.update({reviewer.id: reviewer for reviewer in active_reviewers()})
    people[viewer.id] = viewer
    conflicts = conflicts_of(application, people.values())
    taken = {a.reviewer.id for a in assigned}
    candidates = [
        reviewer
        for reviewer in people.values()
        if reviewer.role is Role.REVIEWER
        and reviewer.deactivated_at is None
        and reviewer.id not in taken
        and not conflicts[reviewer.id]
    ]
    review_round = db.session.get(ReviewRound, application.review_round_id) if application.review_round_id else None
    return Staffing(
        review_round=review_round,
        assigned=assigned,
        conflicts={rid: causes for rid, causes in conflicts.items() if causes},
        reviewers=people,
        candidates=sorted(candidates, key=lambda r: (r.name, r.id)),
        my_conflicts=conflicts[viewer.id],
        assigned_to_me=viewer.id in taken,
        recused=any(cause.startswith("recused") for cause in conflicts[viewer.id]),
        needed=current_app.config["REVIEWERS_PER_FILE"],
    )


@dataclass(frozen=True)
class MyFile:
    application: Application
    applicant: User
    review_round: ReviewRound | None
    assigned_at: date
    reviewed: bool


@functools.cache
def _files_of_reviewer() -> sa.Select:
    """My assigned files' one statement, built once: a request only binds the reviewer."""
    reviewer_id: sa.BindParameter[int] = sa.bindparam("reviewer_id", type_=sa.Integer)
    reviewed = (
        sa.exists()
        .where(
            Review.application_id == Application.id,
            Review.reviewer_id == reviewer_id,
            Review.cycle == Application.review_cycle,
        )
        .correlate(Application)
    )
    undecided = Application.status.in_(UNDECIDED)
    return (
        sa.select(Application, User, ReviewRound, ReviewAssignment.assigned_at, reviewed)
        .join(ReviewAssignment, ReviewAssignment.application_id == Application.id)
        .join(User, Application.applicant_id == User.id)
        .outerjoin(ReviewRound, Application.review_round_id == ReviewRound.id)
        .where(ReviewAssignment.reviewer_id == reviewer_id)
        .order_by(sa.case((undecided, 0), else_=1), ReviewRound.review_due.nulls_last(), Application.id)
        .limit(500)
    )


def my_files(reviewer: User) -> list[MyFile]:
    """The files assigned to the reviewer, undecided first, soonest due first: one statement."""
    rows = db.session.execute(_files_of_reviewer(), {"reviewer_id": reviewer.id}).all()
    return [MyFile(row[0], row[1], row[2], row[3].date(), bool(row[4])) for row in rows]


@dataclass(frozen=True)
class ReviewerLoad:
    reviewer: User
    assigned: int
    reviewed: int


def round_load(review_round: ReviewRound) -> list[ReviewerLoad]:
    """Each active reviewer's files in the round and how many they have reviewed: one statement."""
    in_round = sa.and_(
        ReviewAssignment.reviewer_id == User.id,
        ReviewAssignment.application_id == Application.id,
        Application.review_round_id == review_round.id,
    )
    assigned = sa.select(sa.func.count(ReviewAssignment.id)).where(in_round).scalar_subquery()
    reviewed = (
        sa.select(sa.func.count(ReviewAssignment.id))
        .where(
            in_round,
            sa.exists().where(
                Review.application_id == Application.id,
                Review.reviewer_id == User.id,
                Review.cycle == Application.review_cycle,
            ),
        )
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(User, assigned, reviewed)
        .where(User.role == Role.REVIEWER, User.deactivated_at.is_(None))
        .order_by(User.name, User.id)
    ).all()
    return [ReviewerLoad(row[0], int(row[1]), int(row[2])) for row in rows]
