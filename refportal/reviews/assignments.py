"""Who reviews which file: conflicts of interest (found, or declared by recusing), assignment by hand
or balanced auto-assignment for a round, the rules on reading and reviewing a file, and the
reviewers' e-mails (one digest per round, a reminder before the due date)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import Role, User
from refportal.applications.models import DECIDED_STATUSES, Application, ApplicationStatus
from refportal.audit.services import record
from refportal.db import utc_today, utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.mail.services import external_url, queue_email
from refportal.references.models import Reference
from refportal.reviews.models import Recusal, Review, ReviewAssignment, ReviewRound

# ---------------------------------------------------------------------------------------------
# Conflicts of interest


def conflicts_of(application: Application, reviewers: Iterable[User]) -> dict[int, list[str]]:
    """For each reviewer, why they may not review this file (empty: none). Causes: they are the
    applicant; they work at the organisation the applicant gave as their employer; their address is one
    of the applicant's referees (on any application, in any state); they recused themselves from any of
    the applicant's applications. Two statements whatever the number of reviewers."""
    reviewers = list(reviewers)
    causes: dict[int, list[str]] = {reviewer.id: [] for reviewer in reviewers}
    by_email = {reviewer.email.lower(): reviewer.id for reviewer in reviewers}
    employer = _organisation_key(application.employer)
    for reviewer in reviewers:
        if reviewer.id == application.applicant_id:
            causes[reviewer.id].append("is the applicant")
        if employer and _organisation_key(reviewer.organisation) == employer:
            causes[reviewer.id].append(f"works at the applicant's organisation ({application.employer})")
    referees = db.session.execute(
        sa.select(sa.func.lower(Reference.email), Reference.status, Reference.application_id)
        .join(Application, Reference.application_id == Application.id)
        .where(Application.applicant_id == application.applicant_id, sa.func.lower(Reference.email).in_(by_email))
    ).all()
    for row in referees:
        email, status, application_id = row[0], row[1], row[2]
        where = "this application" if application_id == application.id else f"application {application_id}"
        causes[by_email[email]].append(f"is one of the applicant's referees ({status.label.lower()}, {where})")
    # A recusal is from the person, not the one file: it covers every application of the applicant.
    recusals = db.session.execute(
        sa.select(Recusal.reviewer_id, Recusal.application_id, Recusal.reason)
        .join(Application, Recusal.application_id == Application.id)
        .where(Application.applicant_id == application.applicant_id, Recusal.reviewer_id.in_(causes))
        .order_by(Recusal.id)
    ).all()
    for reviewer_id, application_id, reason in recusals:
        where = "" if application_id == application.id else f" from application {application_id}"
        causes[reviewer_id].append(f"recused{where}: {reason}")
    return causes


def _organisation_key(name: str | None) -> str:
    """An organisation's name as compared: case and spacing ignored."""
    return " ".join((name or "").casefold().split())


def conflicts_with(application: Application, reviewer: User) -> list[str]:
    return conflicts_of(application, [reviewer])[reviewer.id]


def active_reviewers() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .where(User.role == Role.REVIEWER, User.deactivated_at.is_(None))
            .order_by(User.name, User.id)
        )
    )


# ---------------------------------------------------------------------------------------------
# What a staff member may do with a file


def is_assigned(application: Application, user: User) -> bool:
    return (
        db.session.scalar(
            sa.select(ReviewAssignment.id).where(
                ReviewAssignment.application_id == application.id, ReviewAssignment.reviewer_id == user.id
            )
        )
        is not None
    )


def may_open_file(application: Application, user: User) -> bool:
    """Administrators open every file; a reviewer their assigned ones, and the others (read-only)
    when REVIEWERS_READ_UNASSIGNED is on."""
    return user.role is Role.ADMIN or current_app.config["REVIEWERS_READ_UNASSIGNED"] or is_assigned(application, user)


def check_unconflicted(application: Application, user: User) -> None:
    """Refused for a staff member with a conflict of interest with the file (they act on nothing in it)."""
    conflicts = conflicts_with(application, user)
    if conflicts:
        raise Refused(f"You have a conflict of interest with this file ({'; '.join(conflicts)}): you cannot act on it.")


def check_may_review(application: Application, reviewer: User) -> None:
    """Refused unless the reviewer is assigned to the file and has no conflict with it."""
    check_unconflicted(application, reviewer)
    if not is_assigned(application, reviewer):
        raise Refused("Only the reviewers assigned to this file can review it. Ask an administrator to assign you.")


# ---------------------------------------------------------------------------------------------
# Assigning


def _assignable(application: Application) -> None:
    if application.status not in (ApplicationStatus.SUBMITTED, ApplicationStatus.MORE_INFO_REQUESTED):
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
    record("review.assigned", obj=application, actor=actor, reviewer=reviewer.id, reviewer_name=reviewer.name)
    return assignment


def unassign(*, assignment: ReviewAssignment, actor: User) -> None:
    application = db.session.get(Application, assignment.application_id)
    record("review.unassigned", obj=application, actor=actor, reviewer=assignment.reviewer_id)
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
        Application.applicant_id == application.applicant_id, Application.status.not_in(DECIDED_STATUSES)
    )
    db.session.execute(
        sa.delete(ReviewAssignment).where(
            ReviewAssignment.reviewer_id == reviewer.id,
            sa.or_(
                ReviewAssignment.application_id == application.id,
                ReviewAssignment.application_id.in_(undecided_files_of_the_applicant),
            ),
        )
    )
    record("review.recused", obj=application, actor=reviewer, reason=reason[:500])
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
                Application.status.in_((ApplicationStatus.SUBMITTED, ApplicationStatus.MORE_INFO_REQUESTED)),
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
        if reviewer_id in load and status in (ApplicationStatus.SUBMITTED, ApplicationStatus.MORE_INFO_REQUESTED):
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
    record("review_round.auto_assigned", obj=review_round, actor=actor, files=len(files), assignments=made, short=short)
    db.session.flush()
    send_assignment_digests()
    return AutoAssignReport(files=len(files), assignments=made, short=short)


# ---------------------------------------------------------------------------------------------
# The reviewers' e-mails


def send_assignment_digests() -> int:
    """One e-mail per reviewer and round listing the files newly assigned to them (assignments made by
    hand are gathered by the worker's periodic run); returns the number of e-mails."""
    pending = db.session.execute(
        sa.select(ReviewAssignment, Application, ReviewRound)
        .join(Application, ReviewAssignment.application_id == Application.id)
        .outerjoin(ReviewRound, Application.review_round_id == ReviewRound.id)
        .where(ReviewAssignment.notified_at.is_(None))
        .order_by(ReviewAssignment.reviewer_id, Application.id)
    ).all()
    groups: dict[tuple[int, int | None], list[tuple[ReviewAssignment, Application]]] = defaultdict(list)
    rounds: dict[int | None, ReviewRound | None] = {}
    for assignment, application, review_round in pending:
        key = (assignment.reviewer_id, review_round.id if review_round else None)
        groups[key].append((assignment, application))
        rounds[key[1]] = review_round
    now = utcnow()
    for (reviewer_id, round_id), items in groups.items():
        reviewer = db.session.get(User, reviewer_id)
        if reviewer is None:
            continue
        queue_email(
            "review_assignments",
            reviewer.email,
            reviewer=reviewer,
            review_round=rounds[round_id],
            applications=[application for _, application in items],
            link=external_url("rounds.my_files"),
        )
        for assignment, _ in items:
            assignment.notified_at = now
    return len(groups)


def send_due_reminders(today: date | None = None) -> int:
    """A reminder to each reviewer with assigned files still unreviewed whose round's reviews are due
    within REVIEW_REMINDER_DAYS (one e-mail per reviewer and round, once)."""
    today = today or utc_today()
    horizon = today + timedelta(days=current_app.config["REVIEW_REMINDER_DAYS"])
    reviewed = sa.exists().where(
        Review.application_id == ReviewAssignment.application_id,
        Review.reviewer_id == ReviewAssignment.reviewer_id,
        Review.round == Application.review_round,
    )
    due = db.session.execute(
        sa.select(ReviewAssignment, Application, ReviewRound)
        .join(Application, ReviewAssignment.application_id == Application.id)
        .join(ReviewRound, Application.review_round_id == ReviewRound.id)
        .where(
            ReviewAssignment.reminded_at.is_(None),
            Application.status == ApplicationStatus.SUBMITTED,
            ReviewRound.review_due <= horizon,
            ReviewRound.review_due >= today,
            ~reviewed,
        )
        .order_by(ReviewAssignment.reviewer_id, Application.id)
    ).all()
    groups: dict[tuple[int, int], list[tuple[ReviewAssignment, Application, ReviewRound]]] = defaultdict(list)
    for assignment, application, review_round in due:
        groups[(assignment.reviewer_id, review_round.id)].append((assignment, application, review_round))
    now = utcnow()
    for (reviewer_id, _), items in groups.items():
        reviewer = db.session.get(User, reviewer_id)
        if reviewer is None or reviewer.deactivated_at is not None:
            continue
        queue_email(
            "review_reminder",
            reviewer.email,
            reviewer=reviewer,
            review_round=items[0][2],
            applications=[application for _, application, _ in items],
            link=external_url("rounds.my_files"),
        )
        for assignment, _, _ in items:
            assignment.reminded_at = now
    return len(groups)


def run_review_jobs() -> str:
    """The worker's periodic run: digests of hand-made assignments, and reminders before due dates."""
    digests = send_assignment_digests()
    reminders = send_due_reminders()
    db.session.commit()
    return f"{digests} assignment digest(s), {reminders} reminder(s)"


# ---------------------------------------------------------------------------------------------
# The file's "Reviewers" section


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


def staffing_of(application: Application, viewer: User) -> Staffing:
    """Who reviews the file, who may not and why, and what the viewer may do about it."""
    rows = db.session.execute(
        sa.select(ReviewAssignment, User)
        .join(User, ReviewAssignment.reviewer_id == User.id)
        .where(ReviewAssignment.application_id == application.id)
        .order_by(ReviewAssignment.assigned_at, ReviewAssignment.id)
    ).all()
    reviewed_by = set(
        db.session.scalars(
            sa.select(Review.reviewer_id).where(
                Review.application_id == application.id, Review.round == application.review_round
            )
        )
    )
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
        recused=any(cause.startswith("recused:") for cause in conflicts[viewer.id]),
        needed=current_app.config["REVIEWERS_PER_FILE"],
    )


# ---------------------------------------------------------------------------------------------
# Pages: a reviewer's assigned files, a round's reviewers


@dataclass(frozen=True)
class MyFile:
    application: Application
    applicant: User
    review_round: ReviewRound | None
    assigned_at: date
    reviewed: bool


def my_files(reviewer: User) -> list[MyFile]:
    """The files assigned to the reviewer, undecided first, soonest due first: one statement."""
    reviewed = (
        sa.exists()
        .where(
            Review.application_id == Application.id,
            Review.reviewer_id == reviewer.id,
            Review.round == Application.review_round,
        )
        .correlate(Application)
    )
    undecided = Application.status.in_((ApplicationStatus.SUBMITTED, ApplicationStatus.MORE_INFO_REQUESTED))
    rows = db.session.execute(
        sa.select(Application, User, ReviewRound, ReviewAssignment.assigned_at, reviewed)
        .join(ReviewAssignment, ReviewAssignment.application_id == Application.id)
        .join(User, Application.applicant_id == User.id)
        .outerjoin(ReviewRound, Application.review_round_id == ReviewRound.id)
        .where(ReviewAssignment.reviewer_id == reviewer.id)
        .order_by(sa.case((undecided, 0), else_=1), ReviewRound.review_due.nulls_last(), Application.id)
        .limit(500)
    ).all()
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
                Review.round == Application.review_round,
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
