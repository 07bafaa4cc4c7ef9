"""Reusing a rating within its year: an applicant's new application (after a deferral, a withdrawal, or
for the other credential) may ask a referee to let the rating they gave on an earlier application
stand for this one. The referee confirms with one button (refportal.references.answers.confirm_reuse)
or declines; the reused rating keeps its original date, so it is flagged once it is over a year old.
An application that reinstates a lapsed endorsement needs new ratings: none given before the lapse is
offered or reused (applications.lifecycle.ratings_not_before)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import User
from refportal.applications.fees import require_fee_before_requests
from refportal.applications.lifecycle import ratings_not_before
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.references.lifecycle import ReferenceStatus
from refportal.references.links import issue_link
from refportal.references.models import Rating, Reference
from refportal.references.nomination import active_references, nominate_referee


def valid_until(rating: Rating) -> datetime:
    """The last moment a rating may be reused: RATING_VALID_DAYS after it was given."""
    return rating.submitted_at + timedelta(days=current_app.config["RATING_VALID_DAYS"])


def is_still_valid(rating: Rating, now: datetime | None = None) -> bool:
    return (now or utcnow()) < valid_until(rating)


def reusable_ratings(application: Application) -> list[Reference]:
    """The applicant's counted ratings from their other applications, still within their year, one per
    referee (the latest), leaving out referees already among this application's references (and, for a
    reinstatement, every rating given before the endorsement lapsed)."""
    oldest = utcnow() - timedelta(days=current_app.config["RATING_VALID_DAYS"])
    not_before = ratings_not_before(application)
    if not_before is not None:
        oldest = max(oldest, not_before - timedelta(microseconds=1))
    earlier = db.session.scalars(
        sa.select(Reference)
        .join(Reference.application)
        .join(Reference.rating)
        .where(
            Application.applicant_id == application.applicant_id,
            Application.id != application.id,
            Reference.status == ReferenceStatus.SUBMITTED,
            Rating.counts.is_(True),
            Rating.submitted_at > oldest,
        )
        .order_by(Rating.submitted_at.desc(), Reference.id.desc())
    ).all()
    taken = {r.email for r in active_references(application)}
    chosen: dict[str, Reference] = {}
    for reference in earlier:
        if reference.email not in taken:
            chosen.setdefault(reference.email, reference)
    return list(chosen.values())


def applicants_reference(application: Application, source_id: int) -> Reference | None:
    """Reference `source_id` if it is the same applicant's (None for anyone else's: not found)."""
    source = db.session.get(Reference, source_id)
    if source is None or source.application.applicant_id != application.applicant_id:
        return None
    return source


def request_reuse(*, application: Application, source: Reference, actor: User) -> Reference:
    """Nominate the referee of `source` again, asking them to confirm their rating for this application
    (the e-mail goes at once). Refused for another applicant's rating, a rating that did not count or is
    over its year, or a referee already among this application's references."""
    if source.application.applicant_id != application.applicant_id or source.application_id == application.id:
        raise Refused("Only a rating given for another of your applications can be reused.")
    rating = source.rating
    if source.status is not ReferenceStatus.SUBMITTED or rating is None or not rating.counts:
        raise Refused("Only a rating that was submitted and counted can be reused.")
    if not is_still_valid(rating):
        raise Refused(
            f"{source.name}'s rating was given on {rating.submitted_at:%d %B %Y}: more than "
            f"{current_app.config['RATING_VALID_DAYS']} days ago, so it can no longer be reused. "
            "Ask for a new rating instead."
        )
    not_before = ratings_not_before(application)
    if not_before is not None and rating.submitted_at < not_before:
        raise Refused(
            f"{source.name}'s rating was given on {rating.submitted_at:%d %B %Y}, before your endorsement "
            f"lapsed on {not_before:%d %B %Y}: a reinstatement needs three new reference ratings. "
            "Ask for a new rating instead."
        )
    if any(r.reuses_id == source.id for r in active_references(application)):
        raise Refused(f"You have asked {source.name} to reuse this rating already.")
    require_fee_before_requests(application)  # the e-mail goes at once: a request like the others
    reference = nominate_referee(
        application=application,
        actor=actor,
        name=source.name,
        email=source.email,
        organisation=source.organisation,
        role=source.role,
        setting=source.setting,
        known_years=source.known_years,
        endorsed_credential=source.endorsed_credential,
        endorsed_category=source.endorsed_category,
        waived=source.waived,
        language=source.language,
    )
    reference.reuses_id = source.id
    issue_link(reference, utcnow())  # the e-mail asks to confirm the earlier rating (links.REUSE_TEMPLATE)
    record(AuditAction.REFERENCE_REUSE_REQUESTED, obj=reference, actor=actor, source=source.id, rating=rating.id)
    return reference


def source_of(reference: Reference) -> Reference | None:
    """The earlier reference whose rating a reuse request asks about (None for an ordinary request)."""
    return db.session.get(Reference, reference.reuses_id) if reference.reuses_id is not None else None
