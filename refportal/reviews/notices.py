"""The reviewers' e-mails: one digest of new assignments per round, a reminder before the due date;
the worker's periodic job that sends them."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import User
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.db import utc_today, utcnow
from refportal.extensions import db
from refportal.mail.services import external_url, queue_email
from refportal.reviews.models import Review, ReviewAssignment, ReviewRound


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
        Review.cycle == Application.review_cycle,
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
    return f"{digests} assignment digest(s), {reminders} reminder(s)"
