"""A rating entered by staff on the referee's behalf, from the paper or PDF form the referee signed (a
way round a blocked inbox): the same answers, rules and lifecycle as the referee's own submission, the
signed form kept in the document store with the rating, and the entry marked as staff's on the rating
and in the audit trail."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import format_date
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.datastructures import FileStorage

from refportal.accounts.models import User
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import rows_changed, utcnow
from refportal.documents.models import Document, DocumentPurpose
from refportal.documents.services import discard_bytes, store_document
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.references import lifecycle
from refportal.references.answers import announce_rating, rating_from_answers, rating_problems
from refportal.references.lifecycle import Event, ReferenceStatus, sources, uniform_target
from refportal.references.models import Rating, Reference


class PaperRatingRefused(Refused):
    """The reference cannot take a rating now (answered, withdrawn, not asked...)."""


def refusal_for(reference: Reference) -> str | None:
    """Why a paper rating cannot be entered for this reference now (None: it can)."""
    if lifecycle.allows(reference, Event.SUBMIT):
        return None
    status = reference.status
    if status is ReferenceStatus.SUBMITTED:
        return (
            f"{reference.name}'s rating is already in (given on {format_date(reference.submitted_at, 'long')}): "
            "nothing was entered, and the rating on file stands as it is."
        )
    if status in (ReferenceStatus.WITHDRAWN, ReferenceStatus.CANCELLED):
        return (
            f"This reference was {status.label.lower()}: it is no longer one of the application's three, so a rating "
            "cannot be entered for it. Nothing was entered."
        )
    return (
        f"This reference is {status.label.lower()}: a paper rating can be entered only for a referee who was asked and "
        "has not answered. Nothing was entered."
    )


def enter_paper_rating(*, reference: Reference, answers: dict, signed_form: FileStorage | None, actor: User) -> Rating:
    """Submit the referee's signed paper rating as staff: refused for a reference that cannot take a rating,
    for missing answers, and without an acceptable signed form (which is stored with the rating)."""
    refusal = refusal_for(reference)
    if refusal is not None:
        raise PaperRatingRefused(refusal)
    if rating_problems(answers):
        raise PaperRatingRefused("Some answers are missing: they are marked below. Nothing was entered.")
    if signed_form is None or not signed_form.filename:
        raise PaperRatingRefused(
            "Upload the form the referee signed: a rating is entered only with it. Nothing was entered.",
            field="signed_form",
        )
    try:
        document = store_document(
            application_id=reference.application_id,
            purpose=DocumentPurpose.SIGNED_RATING_FORM,
            upload=signed_form,
            actor=actor,
        )
    except Refused as refused:
        raise PaperRatingRefused(f"{refused.message} Nothing was entered.", field="signed_form") from refused
    try:
        return _submit(reference, answers, document, actor)
    except Refused:
        discard_bytes(document)
        raise


def _submit(reference: Reference, answers: dict, document: Document, actor: User) -> Rating:
    now = utcnow()
    # One conditional UPDATE, as the referee's own submission: a rating that came in meanwhile wins.
    values = {"status": uniform_target(Event.SUBMIT), "submitted_at": now, "draft": answers}
    changed = rows_changed(
        db.session,
        sa.update(Reference)
        .where(Reference.id == reference.id, Reference.status.in_(sources(Event.SUBMIT)))
        .values(**values),
    )
    if changed != 1:
        db.session.refresh(reference)
        raise PaperRatingRefused(refusal_for(reference) or "This reference changed meanwhile. Nothing was entered.")
    for name, value in values.items():
        set_committed_value(reference, name, value)
    rating = rating_from_answers(reference, answers, now)
    rating.entered_by_id = actor.id
    rating.signed_form = document
    db.session.add(rating)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the referee's own rating was stored first
        raise PaperRatingRefused("The referee's own rating came in meanwhile. Nothing was entered.") from exc
    record(
        AuditAction.REFERENCE_SUBMITTED,
        obj=reference,
        actor=actor,
        counts=rating.counts,
        entered_by_staff=True,
        signed_form=document.id,
    )
    announce_rating(reference, rating, now)
    return rating
