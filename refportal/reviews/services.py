"""Reviewer rules: the queue query, the file's pieces, reviews, consensus and decisions, exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from refportal.accounts.models import Role, User
from refportal.applications.completeness import complete_clause, counted_ratings
from refportal.applications.models import Application, ApplicationStatus
from refportal.audit.models import AuditEvent
from refportal.audit.services import record
from refportal.db import rows_changed, utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.mail.services import external_url, queue_email
from refportal.membership.models import MembershipDeclaration, MembershipStatus
from refportal.references.closing import cancel_requests
from refportal.references.models import Reference
from refportal.references.rating_form import DOMAINS, ITEM_KEYS
from refportal.reviews.aggregation import Endorsement, FlagRules
from refportal.reviews.assignments import check_may_review
from refportal.reviews.models import Outcome, Review, ReviewAssignment, ReviewVersion

# ---------------------------------------------------------------------------------------------
# The queue


@dataclass(frozen=True)
class QueueFilters:
    q: str = ""
    credential: str = ""
    category: int | None = None
    status: str = ""
    membership: str = ""  # a MembershipStatus value, or "none"
    completeness: str = ""  # "complete" | "incomplete"
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
        .where(Review.application_id == Application.id, Review.round == Application.review_round)
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
        pattern = "%" + filters.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                sa.func.lower(User.name).like(pattern, escape="\\"),
                sa.func.lower(User.email).like(pattern, escape="\\"),
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
            Application.status.in_((ApplicationStatus.SUBMITTED, ApplicationStatus.MORE_INFO_REQUESTED)),
            assigned < current_app.config["REVIEWERS_PER_FILE"],
        )
    if filters.membership:
        query = query.where(_membership_is(filters.membership, today))
    if filters.completeness:
        complete = complete_clause(today, current_app.config["ELIGIBILITY_REQUIREMENTS"])
        query = query.where(complete if filters.completeness == "complete" else sa.not_(complete))
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


# ---------------------------------------------------------------------------------------------
# The application file


def load_file(application_id: int) -> Application | None:
    """The application with everything the file shows, in one statement (a row per reference)."""
    return (
        db.session.scalars(
            sa.select(Application)
            .where(Application.id == application_id)
            .options(
                joinedload(Application.applicant),
                joinedload(Application.membership),
                joinedload(Application.references).joinedload(Reference.rating),
            )
        )
        .unique()
        .first()
    )


def reviews_of(application: Application) -> list[Review]:
    return list(
        db.session.scalars(
            sa.select(Review)
            .where(Review.application_id == application.id)
            .options(selectinload(Review.reviewer), selectinload(Review.versions))
            .order_by(Review.round, Review.recorded_at)
        )
    )


RATINGS_READ = "file.ratings_read"
READINGS_SHOWN = 20  # every drawing of a file with ratings is a reading: the file lists the latest


def audit_trail(application: Application) -> tuple[list[tuple[AuditEvent, User | None]], int]:
    """Every recorded change to the application and its references, oldest first, each with its actor,
    with the latest READINGS_SHOWN readings of its ratings among them; and how many earlier readings are
    kept and not listed. One statement (window functions rank the readings)."""
    reference_ids = [r.id for r in application.references]
    mine = sa.or_(
        sa.and_(AuditEvent.object_type == Application.__tablename__, AuditEvent.object_id == application.id),
        sa.and_(AuditEvent.object_type == Reference.__tablename__, AuditEvent.object_id.in_(reference_ids or [-1])),
    )
    reading = AuditEvent.action == RATINGS_READ
    ranked = (
        sa.select(
            AuditEvent.id,
            reading.label("reading"),
            sa.func.row_number()
            .over(partition_by=reading, order_by=(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()))
            .label("recency"),
            sa.func.count().over(partition_by=reading).label("of_kind"),
        )
        .where(mine)
        .subquery()
    )
    rows = cast(
        "list[tuple[AuditEvent, User | None, bool, int]]",
        db.session.execute(
            sa.select(AuditEvent, User, ranked.c.reading, ranked.c.of_kind)
            .join(ranked, ranked.c.id == AuditEvent.id)
            .outerjoin(User, AuditEvent.actor_id == User.id)
            .where(sa.or_(sa.not_(ranked.c.reading), ranked.c.recency <= READINGS_SHOWN))
            .order_by(AuditEvent.occurred_at, AuditEvent.id)
        ).all(),
    )
    readings = max((of_kind for _, _, is_reading, of_kind in rows if is_reading), default=0)
    return [(event, actor) for event, actor, _, _ in rows], max(readings - READINGS_SHOWN, 0)


def endorsements_of(emails: list[str]) -> dict[str, list[Endorsement]]:
    """For each address that is a user of this portal, the endorsements the portal granted them (an
    empty list for a user with none); addresses of non-users are left out (nothing to check against)."""
    if not emails:
        return {}
    rows = db.session.execute(
        sa.select(User.email, Application.credential, Application.category, Application.decided_at)
        .outerjoin(
            Application, sa.and_(Application.applicant_id == User.id, Application.status == ApplicationStatus.ENDORSED)
        )
        .where(User.email.in_(emails))
    ).all()
    found: dict[str, list[Endorsement]] = {}
    for email, credential, category, decided_at in rows:
        granted = found.setdefault(email, [])
        if credential is not None:
            granted.append(Endorsement(credential, category, decided_at))
    return found


def flag_rules(application: Application, today: date) -> FlagRules:
    cfg = current_app.config
    as_of = application.decided_at.date() if application.decided_at else today
    return FlagRules(
        review_by=review_horizon(today),
        as_of=as_of,
        na_limit=cfg["NOT_ENOUGH_INFORMATION_LIMIT"],
        rating_valid_days=cfg["RATING_VALID_DAYS"],
        known_years_minimum=cfg["REFEREE_KNOWN_YEARS_MINIMUM"],
    )


def review_horizon(today: date) -> date:
    return today + timedelta(days=current_app.config["REVIEW_HORIZON_DAYS"])


# ---------------------------------------------------------------------------------------------
# Reviews and decisions


def _require_under_review(application: Application) -> None:
    if application.status is not ApplicationStatus.SUBMITTED:
        raise Refused("Only a submitted application awaiting a decision can be reviewed or decided.")


def _require_message(outcome: Outcome, message: str) -> None:
    if outcome.needs_message and not message.strip():
        raise Refused(
            "Write the message for the applicant: what to add, or the feedback for next time.", field="message"
        )


def record_review(*, application: Application, reviewer: User, outcome: Outcome, notes: str, message: str) -> Review:
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
            Review.round == application.review_round,
        )
    )
    if review is None:
        review = Review(application_id=application.id, reviewer_id=reviewer.id, round=application.review_round)
        review.outcome, review.notes, review.message, review.recorded_at = outcome, notes, message, utcnow()
        db.session.add(review)
        db.session.flush()
    elif (review.outcome, review.notes, review.message) == (outcome, notes, message):
        return review  # recorded as it stands: nothing to change, decide or audit
    else:
        _change_review(review, outcome=outcome, notes=notes, message=message)
    record("review.recorded", obj=application, actor=reviewer, outcome=outcome.value, round=application.review_round)
    if current_app.config["REVIEW_AUTO_DECIDE"]:
        _decide_on_consensus(application)
    return review


LOCKED = (
    "Your review is locked: you have read the other reviewers' recommendations since you recorded it, so a "
    "change would no longer be independent. Ask an administrator to reopen it if it must change."
)


def _change_review(review: Review, *, outcome: Outcome, notes: str, message: str) -> None:
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
    cycle = application.review_round
    mine = next((r for r in shown if r.reviewer_id == reader.id and r.round == cycle), None)
    if mine is None or mine.locked_at is not None or mine.reopened_at is not None:
        return
    if not any(r.reviewer_id != reader.id and r.round == cycle for r in shown):
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
        record("review.locked", obj=application, actor=reader, round=cycle)


def reopen_review(*, review: Review, application: Application, actor: User) -> None:
    """An administrator reopens a locked review of the current cycle for one change by its reviewer."""
    _require_under_review(application)
    if review.application_id != application.id or review.round != application.review_round:
        raise Refused("Only a review of the file's current cycle can be reopened.")
    if not review.can_be_reopened:
        raise Refused("This review is not locked: its reviewer can still change it.")
    review.locked_at, review.reopened_at = None, utcnow()
    record("review.reopened", obj=application, actor=actor, reviewer=review.reviewer_id, round=review.round)


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
            .where(Review.application_id == application.id, Review.round == application.review_round)
        )
    )  # only reviewers still assigned count (a recusal or an unassignment takes a review out)
    by_outcome: dict[Outcome, list[Review]] = {}
    for review in agreeing:
        by_outcome.setdefault(review.outcome, []).append(review)
    for outcome, reviews in by_outcome.items():
        if len(reviews) >= current_app.config["REVIEWS_FOR_CONSENSUS"]:
            message = "\n\n".join(r.message for r in reviews if r.message)
            apply_decision(application=application, outcome=outcome, message=message, actor=None, consensus=True)
            return


def apply_decision(
    *, application: Application, outcome: Outcome, message: str, actor: User | None, consensus: bool = False
) -> None:
    """The final decision: close the application (or reopen it for more information) and tell the applicant."""
    _require_under_review(application)
    _require_message(outcome, message)
    now = utcnow()
    if outcome is Outcome.MORE_INFORMATION:
        application.status = ApplicationStatus.MORE_INFO_REQUESTED
        application.review_round += 1
    else:
        application.status = {
            Outcome.ENDORSE: ApplicationStatus.ENDORSED,
            Outcome.DEFER: ApplicationStatus.DEFERRED,
            Outcome.DENY: ApplicationStatus.DENIED,
        }[outcome]
        application.decided_at = now
        cancel_requests(application=application, actor=actor)  # no request outlives a decided application
    application.decision_message = message.strip() or None
    record("application.decided", obj=application, actor=actor, outcome=outcome.value, consensus=consensus)
    queue_email(
        "application_decision",
        application.applicant.email,
        applicant=application.applicant,
        application=application,
        outcome=outcome,
        message=application.decision_message,
        renews_on=application.renews_on(current_app.config["ENDORSEMENT_RENEWAL_MONTHS"]),
        link=external_url("applications.show", application_id=application.id),
    )


# ---------------------------------------------------------------------------------------------
# CSV exports


def _safe(value: object) -> str:
    """A cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(header: list[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(cell) for cell in row])
    return buffer.getvalue()


def ratings_csv(application: Application) -> str:
    """One row per referee and item, with the referee's recommendation and whether the rating counts."""
    domain_of = {item.key: domain.title for domain in DOMAINS for item in domain.items}
    rows = []
    for reference in application.references:
        rating = reference.rating
        if rating is None:
            continue
        for key in ITEM_KEYS:
            rows.append(
                [
                    application.id,
                    reference.name,
                    reference.email,
                    reference.role.value,
                    rating.counts,
                    rating.recommendation.value,
                    domain_of[key],
                    key,
                    rating.answers.get(key),
                ]
            )
    return _csv(
        ["application_id", "referee", "referee_email", "role", "counts", "recommendation", "domain", "item", "answer"],
        rows,
    )


def queue_csv(filters: QueueFilters, today: date) -> str:
    """The whole filtered queue (no paging)."""
    rows = queue_rows(filters, today)
    return _csv(
        [
            "application_id",
            "applicant",
            "email",
            "credential",
            "category",
            "status",
            "submitted_at",
            "membership",
            "references_counted",
            "reviews",
        ],
        (
            [
                r.application.id,
                r.application.applicant.name,
                r.application.applicant.email,
                r.application.credential.short,
                r.application.category,
                r.application.status.value,
                r.application.submitted_at.isoformat() if r.application.submitted_at else "",
                r.membership.status_on(today).value if r.membership else "none",
                r.counted,
                r.reviews,
            ]
            for r in rows
        ),
    )


# ---------------------------------------------------------------------------------------------
# Independent reviews


def others_hidden(application: Application, viewer: User, reviews: list[Review]) -> bool:
    """A reviewer sees the other reviewers' recommendations of the current cycle only once they have
    recorded their own; administrators always see them."""
    if viewer.role is Role.ADMIN:
        return False
    return not any(r.reviewer_id == viewer.id and r.round == application.review_round for r in reviews)


def visible_to(
    application: Application, viewer: User, reviews: list[Review], audit: list[tuple[AuditEvent, User | None]]
) -> tuple[list[Review], list[tuple[AuditEvent, User | None]]]:
    """The reviews and audit entries the viewer may read (see others_hidden)."""
    if not others_hidden(application, viewer, reviews):
        return reviews, audit

    def others_now(round_number: object, author_id: int | None) -> bool:
        return round_number == application.review_round and author_id != viewer.id

    return (
        [r for r in reviews if not others_now(r.round, r.reviewer_id)],
        [
            (event, actor)
            for event, actor in audit
            if not (event.action in REVIEW_EVENTS and others_now(event.details.get("round"), _reviewer_of(event)))
        ],
    )


# What the audit trail says of a review's content or state: hidden like the review itself.
REVIEW_EVENTS = ("review.recorded", "review.locked", "review.reopened")


def _reviewer_of(event: AuditEvent) -> int | None:
    """The reviewer whose review a review event is about (an administrator reopens another's)."""
    return event.details.get("reviewer") if event.action == "review.reopened" else event.actor_id
