"""Who reviews which file: assigning by hand, recusing, and balanced auto-assignment for a round."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import Role, User
from refportal.applications.lifecycle import DECIDED, UNDECIDED
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.reviews.conflicts import conflicts_of, conflicts_with
from refportal.reviews.models import Recusal, ReviewAssignment, ReviewRound
from refportal.reviews.notices import send_assignment_digests
from refportal.reviews.progress import change_files


def active_reviewers() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.role == Role.REVIEWER, User.deactivated_at.is_(None))
            .order_by(User.name, User.id)
        )
    )


def _assignable(application: Application) -> None:
    if application.status not in UNDECIDED:
        raise Refused("Only a submitted application that is not decided can be assigned.")


def assign(*, application: Application, reviewer: User, actor: User | None) -> ReviewAssignment:
    """Assign a reviewer by hand: an active reviewer without a conflict, up to REVIEWERS_PER_FILE."""
    _assignable(application)
    if reviewer.role is not Role.REVIEWER:
        raise Refused(f"{reviewer.name} is not a reviewer.", field="reviewer")
    if reviewer.deactivated_at is not None:
        raise Refused(f"{reviewer.name}'s account is deactivated.", field="reviewer")
    conflicts = conflicts_with(application, reviewer)
    if conflicts:
        raise Refused(f"{reviewer.name} has a conflict of interest: {'; '.join(conflicts)}.", field="reviewer")
    existing = list(
        db.session.scalars(sa.select(ReviewAssignment).where(ReviewAssignment.application_id == application.id))
    )
    if any(a.reviewer_id == reviewer.id for a in existing):
        raise Refused(f"{reviewer.name} is assigned to this file already.", field="reviewer")
    if len(existing) >= current_app.config["REVIEWERS_PER_FILE"]:
        raise Refused(f"This file has its {len(existing)} reviewers already: unassign one first.", field="reviewer")
    assignment = ReviewAssignment(
        application_id=application.id, reviewer_id=reviewer.id, assigned_by_id=actor.id if actor else None
    )
    db.session.add(assignment)
    record(AuditAction.REVIEW_ASSIGNED, obj=application, actor=actor, reviewer=reviewer.id, reviewer_name=reviewer.name)
    return assignment


def unassign(*, assignment: ReviewAssignment, actor: User) -> None:
    application = db.session.get(Application, assignment.application_id)
    record(AuditAction.REVIEW_UNASSIGNED, obj=application, actor=actor, reviewer=assignment.reviewer_id)
    db.session.delete(assignment)


def recuse(*, application: Application, reviewer: User, reason: str) -> Recusal:
    """The reviewer declares a conflict with the applicant: they are unassigned from the applicant's
    undecided files and can no longer review or read the ratings of any of the applicant's files."""
    reason = " ".join(reason.split())
    if not reason:
        raise Refused("Say why you cannot review this file.", field="reason")
    if db.session.scalar(
        sa.select(Recusal.id).where(Recusal.application_id == application.id, Recusal.reviewer_id == reviewer.id)
    ):
        raise Refused("You have recused yourself from this file already.")
    recusal = Recusal(application_id=application.id, reviewer_id=reviewer.id, reason=reason[:500])
    db.session.add(recusal)
    undecided_files_of_the_applicant = sa.select(Application.id).where(
        Application.applicant_id == application.applicant_id, Application.status.not_in(DECIDED)
    )
    change_files(  # the files' progress counts the assignments removed
        sa.delete(ReviewAssignment).where(
            ReviewAssignment.reviewer_id == reviewer.id,
            sa.or_(
                ReviewAssignment.application_id == application.id,
                ReviewAssignment.application_id.in_(undecided_files_of_the_applicant),
            ),
        )
    )
    record(AuditAction.REVIEW_RECUSED, obj=application, actor=reviewer, reason=reason[:500])
    return recusal


@dataclass(frozen=True)
class AutoAssignReport:
    files: int
    assignments: int
    short: list[int]  # files that could not get every reviewer they need (too few without a conflict)


def auto_assign(*, review_round: ReviewRound, actor: User) -> AutoAssignReport:
    """Give every undecided file of the round REVIEWERS_PER_FILE reviewers: the least-loaded active
    reviewers without a conflict (load counts every undecided file they hold, in any round)."""
    needed = current_app.config["REVIEWERS_PER_FILE"]
    reviewers = active_reviewers()
    if len(reviewers) < needed:
        raise Refused(
            f"Auto-assign needs at least {needed} active reviewers; there are {len(reviewers)}. Invite reviewers first."
        )
    files = list(
        db.session.scalars(
            sa.select(Application)
            .where(
                Application.review_round_id == review_round.id,
                Application.status.in_(UNDECIDED),
            )
            .order_by(Application.submitted_at, Application.id)
        )
    )
    held: dict[int, set[int]] = defaultdict(set)  # application id -> reviewer ids
    load: dict[int, int] = {reviewer.id: 0 for reviewer in reviewers}
    for application_id, reviewer_id, status in db.session.execute(
        sa.select(ReviewAssignment.application_id, ReviewAssignment.reviewer_id, Application.status).join(
            Application, ReviewAssignment.application_id == Application.id
        )
    ):
        held[application_id].add(reviewer_id)
        if reviewer_id in load and status in UNDECIDED:
            load[reviewer_id] += 1
    made, short = 0, []
    for application in files:
        conflicted = {rid for rid, causes in conflicts_of(application, reviewers).items() if causes}
        while len(held[application.id]) < needed:
            candidates = [r for r in reviewers if r.id not in held[application.id] and r.id not in conflicted]
            if not candidates:
                short.append(application.id)
                break
            chosen = min(candidates, key=lambda r: (load[r.id], r.id))
            db.session.add(ReviewAssignment(application_id=application.id, reviewer_id=chosen.id))
            held[application.id].add(chosen.id)
            load[chosen.id] += 1
            made += 1
    record(
        AuditAction.REVIEW_ROUND_AUTO_ASSIGNED,
        obj=review_round,
        actor=actor,
        files=len(files),
        assignments=made,
        short=short,
    )
    db.session.flush()
    send_assignment_digests()
    return AutoAssignReport(files=len(files), assignments=made, short=short)
