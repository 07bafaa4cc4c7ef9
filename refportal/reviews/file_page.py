"""The application file as a reviewer reads it: everything it shows, loaded in few statements, and what
each reader may see of the reviews (others' recommendations only after one's own)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload

from refportal.accounts.models import Role, User
from refportal.applications import evidence
from refportal.applications.evidence import Evidence
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.documents.models import Document
from refportal.endorsements.checks import Claim, RegistryCheck, check_claims
from refportal.extensions import db
from refportal.references.models import Reference
from refportal.reviews.aggregation import Endorsement, FlagRules
from refportal.reviews.models import Review


def load_file(application_id: int) -> Application | None:
    """The application with everything the file shows, in one statement (a row per reference; its evidence
    entries: evidence_of)."""
    return db.session.scalars(_file_statement(), {"application_id": application_id}).unique().first()


@functools.cache
def _file_statement() -> sa.Select:
    """load_file's statement, built once: a request binds the application."""
    return (
        sa.select(Application)
        .where(Application.id == sa.bindparam("application_id"))
        .options(
            joinedload(Application.applicant),
            joinedload(Application.membership),
            joinedload(Application.review_round),
            joinedload(Application.portfolio),
            joinedload(Application.references).joinedload(Reference.rating),
        )
    )


def evidence_of(application: Application) -> Evidence | None:
    """The applicant's evidence entries and their totals (read-only), for an application whose eligibility
    comes from entries; None for one with self-reported totals."""
    if not application.from_entries:
        return None
    evidence.load_entries([application])
    return evidence.evidence_of(application)


def reviews_of(application: Application) -> list[Review]:
    return list(db.session.scalars(_reviews_statement(), {"application_id": application.id}))


@functools.cache
def _reviews_statement() -> sa.Select:
    """reviews_of's statement, built once: a request binds the application."""
    return (
        sa.select(Review)
        .where(Review.application_id == sa.bindparam("application_id"))
        .options(selectinload(Review.reviewer), selectinload(Review.versions))
        .order_by(Review.cycle, Review.recorded_at)
    )


READINGS_SHOWN = 20  # every drawing of a file with ratings is a reading: the file lists the latest


def audit_trail(application: Application) -> tuple[list[tuple[AuditEvent, User | None]], int]:
    """Every recorded change to the application, its references and its documents, oldest first, each with its actor,
    with the latest READINGS_SHOWN readings of its ratings among them; and how many earlier readings are
    kept and not listed. One statement (window functions rank the readings)."""
    rows = db.session.execute(
        _trail_of_file(),
        {"application_id": application.id, "reference_ids": [r.id for r in application.references] or [-1]},
    ).all()
    return [(row[0], row[1]) for row in rows], earlier_readings(rows)


@functools.cache
def _trail_of_file() -> sa.Select:
    """audit_trail's statement, built once: a request binds the application and its references."""
    return trail_statement(
        sa.bindparam("application_id"), sa.bindparam("reference_ids", expanding=True), AuditEvent, User
    )


def trail_statement(application_id: Any, reference_ids: Any, *columns: Any) -> sa.Select:
    """`columns` (of AuditEvent and its actor, User, outer-joined) of the file's audit trail, oldest first,
    with each row's `reading` and `of_kind` (see earlier_readings). The ids may be bound parameters."""
    # Each kind of object read from the (object_type, object_id) index on its own: one OR of the three
    # read every document's events (and, misjudging their number, every audit row to join back to).
    of_kind = AuditEvent.object_type
    mine = sa.union_all(
        _trail_rows().where(of_kind == Application.__tablename__, AuditEvent.object_id == application_id),
        _trail_rows().where(of_kind == Reference.__tablename__, AuditEvent.object_id.in_(reference_ids)),
        _trail_rows()
        .join(Document, sa.and_(of_kind == Document.__tablename__, AuditEvent.object_id == Document.id))
        .where(Document.application_id == application_id),
    ).subquery()
    # Openings of the ratings and of the file's documents are readings.
    reading = mine.c.action.in_((AuditAction.FILE_RATINGS_READ, AuditAction.DOCUMENT_DOWNLOADED))
    ranked = sa.select(
        mine.c.id,
        reading.label("reading"),
        sa.func.row_number()
        .over(partition_by=reading, order_by=(mine.c.occurred_at.desc(), mine.c.id.desc()))
        .label("recency"),
        sa.func.count().over(partition_by=reading).label("of_kind"),
    ).subquery()
    return (
        sa.select(*columns, ranked.c.reading, ranked.c.of_kind)
        .join(ranked, ranked.c.id == AuditEvent.id)
        .outerjoin(User, AuditEvent.actor_id == User.id)
        .where(sa.or_(sa.not_(ranked.c.reading), ranked.c.recency <= READINGS_SHOWN))
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )


def _trail_rows() -> sa.Select:
    return sa.select(AuditEvent.id, AuditEvent.action, AuditEvent.occurred_at)


def earlier_readings(rows: Iterable[Any]) -> int:
    """How many readings the trail's rows (trail_statement's) leave out: all of them less those listed."""
    readings = max((row.of_kind for row in rows if row.reading), default=0)
    return max(readings - READINGS_SHOWN, 0)


def endorsements_of(emails: list[str]) -> dict[str, list[Endorsement]]:
    """For each address that is a user of this portal, the endorsements the portal granted them (an
    empty list for a user with none); addresses of non-users are left out (nothing to check against)."""
    if not emails:
        return {}
    return endorsements_by_email(db.session.execute(_endorsements_of_emails(), {"emails": emails}).all())


@functools.cache
def _endorsements_of_emails() -> sa.Select:
    """endorsements_of's statement, built once: a request binds the addresses."""
    return endorsements_statement(sa.bindparam("emails", expanding=True))


def endorsements_statement(emails: Any) -> sa.Select:
    """The users of these addresses with each endorsement the portal granted them (none: one row of
    NULLs): (email, credential, category, decided_at). `emails` may be a bound parameter."""
    return (
        sa.select(User.email, Application.credential, Application.category, Application.decided_at)
        .outerjoin(
            Application, sa.and_(Application.applicant_id == User.id, Application.status == ApplicationStatus.ENDORSED)
        )
        .where(User.email.in_(emails))
    )


def endorsements_by_email(rows: Iterable[Sequence[Any]]) -> dict[str, list[Endorsement]]:
    """`endorsements_of` from the rows of endorsements_statement."""
    found: dict[str, list[Endorsement]] = {}
    for email, credential, category, decided_at in rows:
        granted = found.setdefault(email, [])
        if credential is not None:
            granted.append(Endorsement(credential, category, decided_at))
    return found


def referee_registry_checks(application: Application) -> dict[int, RegistryCheck]:
    """Each rating's endorsement number (where the referee gave one) checked against the registry on the
    rating date, by rating id."""
    claims = [
        Claim(
            key=rating.id,
            number=rating.endorsement_number,
            credential=rating.endorsed_credential,
            category=rating.endorsed_category,
            on=rating.submitted_at.date(),
        )
        for rating in (reference.rating for reference in application.references)
        if rating is not None and rating.endorsement_number
    ]
    return check_claims(claims) if claims else {}


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


def others_hidden(application: Application, viewer: User, reviews: list[Review]) -> bool:
    """A reviewer sees the other reviewers' recommendations of the current cycle only once they have
    recorded their own; administrators always see them."""
    if viewer.role is Role.ADMIN:
        return False
    return not any(r.reviewer_id == viewer.id and r.cycle == application.review_cycle for r in reviews)


def visible_to(
    application: Application, viewer: User, reviews: list[Review], audit: list[tuple[AuditEvent, User | None]]
) -> tuple[list[Review], list[tuple[AuditEvent, User | None]]]:
    """The reviews and audit entries the viewer may read (see others_hidden)."""
    if not others_hidden(application, viewer, reviews):
        return reviews, audit

    def others_now(round_number: object, author_id: int | None) -> bool:
        return round_number == application.review_cycle and author_id != viewer.id

    return (
        [r for r in reviews if not others_now(r.cycle, r.reviewer_id)],
        [
            (event, actor)
            for event, actor in audit
            if not (event.action in REVIEW_EVENTS and others_now(event.details.get("round"), _reviewer_of(event)))
        ],
    )


# What the audit trail says of a review's content or state: hidden like the review itself.
REVIEW_EVENTS = (AuditAction.REVIEW_RECORDED, AuditAction.REVIEW_LOCKED, AuditAction.REVIEW_REOPENED)


def _reviewer_of(event: AuditEvent) -> int | None:
    """The reviewer whose review a review event is about (an administrator reopens another's)."""
    return event.details.get("reviewer") if event.action == AuditAction.REVIEW_REOPENED else event.actor_id
