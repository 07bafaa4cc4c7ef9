"""Reviews and decisions: a reviewer's recommendation (locked once they read another's), consensus,
and the final decision the applicant is told of."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.orm.attributes import set_committed_value

from refportal.accounts.models import User
from refportal.applications.lifecycle import Event, transition
from refportal.applications.models import Application
from refportal.applications.verdicts import open_items
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import rows_changed, utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.i18n import known_language
from refportal.mail.services import external_url, queue_email
from refportal.reviews.conflicts import check_may_review
from refportal.reviews.models import Decision, Review, ReviewAssignment, ReviewVersion

# The application's lifecycle event each decision is.
DECIDES = {
    Decision.ENDORSE: Event.ENDORSE,
    Decision.MORE_INFORMATION: Event.REQUEST_MORE_INFORMATION,
    Decision.DEFER: Event.DEFER,
    Decision.DENY: Event.DENY,
}
NOT_UNDER_REVIEW = "Only a submitted application awaiting a decision can be reviewed or decided."


def _require_under_review(application: Application) -> None:
    if not application.is_under_review:
        raise Refused(NOT_UNDER_REVIEW)


def _require_message(outcome: Decision, message: str) -> None:
    if outcome.needs_message and not message.strip():
        raise Refused(
            "Write the message for the applicant: what to add, or the feedback for next time.", field="message"
        )


def record_review(*, application: Application, reviewer: User, outcome: Decision, notes: str, message: str) -> Review:
    """Record (or change, until it is locked) this reviewer's recommendation for the current cycle; two
    that agree may decide. Only an assigned reviewer without a conflict of interest may."""
    _require_under_review(application)
    check_may_review(application, reviewer)
    _require_message(outcome, message)
    notes, message = notes.strip(), message.strip()
    review = db.session.scalar(
        sa.select(Review).where(
            Review.application_id == application.id,
            Review.reviewer_id == reviewer.id,
            Review.cycle == application.review_cycle,
        )
    )
    if review is None:
        review = Review(application_id=application.id, reviewer_id=reviewer.id, cycle=application.review_cycle)
        review.outcome, review.notes, review.message, review.recorded_at = outcome, notes, message, utcnow()
        db.session.add(review)
        db.session.flush()
    elif (review.outcome, review.notes, review.message) == (outcome, notes, message):
        return review  # recorded as it stands: nothing to change, decide or audit
    else:
        _change_review(review, outcome=outcome, notes=notes, message=message)
    record(
        AuditAction.REVIEW_RECORDED,
        obj=application,
        actor=reviewer,
        outcome=outcome.value,
        round=application.review_cycle,
    )
    if current_app.config["REVIEW_AUTO_DECIDE"]:
        _decide_on_consensus(application)
    return review


LOCKED = (
    "Your review is locked: you have read the other reviewers' recommendations since you recorded it, so a "
    "change would no longer be independent. Ask an administrator to reopen it if it must change."
)


def _change_review(review: Review, *, outcome: Decision, notes: str, message: str) -> None:
    """Change an unlocked review, keeping what it said before. A reopened review is locked again by its
    change (its reviewer has read the others). One conditional UPDATE: a lock recorded meanwhile (the
    file read in another tab) refuses it."""
    now = utcnow()
    relock = review.reopened_at is not None
    changed = rows_changed(
        db.session,
        sa.update(Review)
        .where(Review.id == review.id, Review.locked_at.is_(None))
        .values(
            outcome=outcome,
            notes=notes,
            message=message,
            recorded_at=now,
            locked_at=now if relock else None,
            reopened_at=None,
        ),
    )
    if changed != 1:
        raise Refused(LOCKED)
    db.session.add(
        ReviewVersion(
            review_id=review.id,
            outcome=review.outcome,
            notes=review.notes,
            message=review.message,
            recorded_at=review.recorded_at,
            replaced_at=now,
        )
    )
    db.session.flush()
    db.session.refresh(review)


def lock_after_reading_others(application: Application, reader: User, shown: list[Review]) -> None:
    """The reader's review of this cycle is locked once the file shows them another reviewer's review of
    the cycle (a reopened review stays open for its one change)."""
    cycle = application.review_cycle
    mine = next((r for r in shown if r.reviewer_id == reader.id and r.cycle == cycle), None)
    if mine is None or mine.locked_at is not None or mine.reopened_at is not None:
        return
    if not any(r.reviewer_id != reader.id and r.cycle == cycle for r in shown):
        return
    now = utcnow()
    locked = rows_changed(
        db.session,
        sa.update(Review)
        .where(Review.id == mine.id, Review.locked_at.is_(None), Review.reopened_at.is_(None))
        .values(locked_at=now),
    )
    if locked:
        set_committed_value(mine, "locked_at", now)
        record(AuditAction.REVIEW_LOCKED, obj=application, actor=reader, round=cycle)


def reopen_review(*, review: Review, application: Application, actor: User) -> None:
    """An administrator reopens a locked review of the current cycle for one change by its reviewer."""
    _require_under_review(application)
    if review.application_id != application.id or review.cycle != application.review_cycle:
        raise Refused("Only a review of the file's current cycle can be reopened.")
    if not review.can_be_reopened:
        raise Refused("This review is not locked: its reviewer can still change it.")
    review.locked_at, review.reopened_at = None, utcnow()
    record(AuditAction.REVIEW_REOPENED, obj=application, actor=actor, reviewer=review.reviewer_id, round=review.cycle)


def _decide_on_consensus(application: Application) -> None:
    agreeing = list(
        db.session.scalars(
            sa.select(Review)
            .join(
                ReviewAssignment,
                sa.and_(
                    ReviewAssignment.application_id == Review.application_id,
                    ReviewAssignment.reviewer_id == Review.reviewer_id,
                ),
            )
            .where(Review.application_id == application.id, Review.cycle == application.review_cycle)
        )
    )  # only reviewers still assigned count (a recusal or an unassignment takes a review out)
    by_outcome: dict[Decision, list[Review]] = {}
    for review in agreeing:
        by_outcome.setdefault(review.outcome, []).append(review)
    for outcome, reviews in by_outcome.items():
        if len(reviews) >= current_app.config["REVIEWS_FOR_CONSENSUS"]:
            message = "\n\n".join(r.message for r in reviews if r.message)
            apply_decision(application=application, outcome=outcome, message=message, actor=None, consensus=True)
            return


def apply_decision(
    *, application: Application, outcome: Decision, message: str, actor: User | None, consensus: bool = False
) -> None:
    """The final decision: close the application (or reopen it for more information) and tell the applicant."""
    _require_under_review(application)
    _require_message(outcome, message)
    # "More information" names every item whose verdict of this cycle is not verified or needs more.
    items = open_items(application, application.review_cycle) if outcome is Decision.MORE_INFORMATION else []
    transition(application, DECIDES[outcome], actor=actor)  # a closed file's open requests end
    application.decision_message = message.strip() or None
    record(AuditAction.APPLICATION_DECIDED, obj=application, actor=actor, outcome=outcome.value, consensus=consensus)
    with force_locale(known_language(application.applicant.language)):  # in the applicant's language
        queue_email(
            "application_decision",
            application.applicant.email,
            applicant=application.applicant,
            application=application,
            outcome=outcome,
            message=application.decision_message,
            items=items,
            renews_on=application.renews_on(current_app.config["ENDORSEMENT_RENEWAL_MONTHS"]),
            link=external_url("submission.application_page", application_id=application.id),
        )
