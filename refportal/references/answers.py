"""The referee's answers: drafts saved server-side, the complete rating submitted once, or a decline.
Each is one conditional UPDATE on the link's nonce and the reference's state."""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from refportal.applications.categories import CATEGORIES, Credential
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import rows_changed, utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.mail.services import external_url, queue_email
from refportal.references.lifecycle import Event, sources, uniform_target
from refportal.references.links import LinkClosed
from refportal.references.models import Rating, Reference
from refportal.references.nomination import REFERENCES_PER_APPLICATION, counted_references
from refportal.references.notices import tell_applicant, tell_referee
from refportal.references.rating_form import (
    FORM_VERSION,
    ITEM_KEYS,
    LOW_SCORE,
    NOT_ENDORSED,
    NOT_ENOUGH_INFORMATION,
    SCALE,
    Recommendation,
    not_enough_information_count,
)
from refportal.references.reuse import is_still_valid
from refportal.references.roles import RefereeRole
from refportal.references.steps import Step, merge_step


class RatingIncomplete(Refused):
    """Submitting needs every answer (the form marks which, from rating_problems)."""

    def __init__(self) -> None:
        super().__init__(_("Some answers are missing: they are marked below. Your answers are saved as a draft."))


def draft_digest(answers: dict) -> str:
    """Identifies one set of answers, so the confirmation submits exactly what the summary showed."""
    return hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()


class DraftConflict(Refused):
    """The draft was saved from another tab or window since this page was opened."""

    def __init__(self) -> None:
        super().__init__(
            _(
                "Your answers were saved from another tab or window since this page was opened. "
                "What you typed here is still below: press the button again to keep it."
            )
        )


# The answers' UPDATEs are on the table (Core), not the mapped class, each built once per event and set of
# values with the reference, the link, the draft and the new values bound: the session's copy is set below
# from the values written, so the ORM's bulk-update path would only add cost to every save, and so would
# building the statement again (a tenth of a millisecond with its cache key).
_REFERENCE = cast("sa.Table", Reference.__table__)


@functools.cache
def _conditional_statement(event: Event, with_version: bool, names: tuple[str, ...]) -> sa.Update:
    columns = _REFERENCE.c
    conditions = [
        columns.id == sa.bindparam("reference_id"),
        columns.link_nonce == sa.bindparam("nonce"),
        columns.status.in_(sources(event)),
    ]
    if with_version:
        conditions.append(columns.draft_version == sa.bindparam("version"))
    values = {name: sa.bindparam(f"new_{name}", type_=columns[name].type) for name in names}
    return (
        sa.update(_REFERENCE)
        .where(*conditions)
        .values(status=uniform_target(event), **values)
        .execution_options(synchronize_session=False)
    )


def _conditional_update(
    reference: Reference, nonce: str, event: Event, *, version: int | None = None, **values: Any
) -> None:
    """Apply `event` only if the link is still this one and the state still allows it (and, given a
    draft `version`, the draft is still that one): one statement, so a concurrent submission, decline,
    revocation or save from another tab cannot be overwritten."""
    db.session.flush()  # what the session holds is written first, as an ORM statement's autoflush would
    names = tuple(sorted(values))
    parameters = {"reference_id": reference.id, "nonce": nonce, **{f"new_{name}": values[name] for name in names}}
    if version is not None:
        parameters["version"] = version
    changed = rows_changed(db.session, _conditional_statement(event, version is not None, names), parameters)
    if changed != 1:
        if version is not None and _still_open(reference, nonce, event):
            raise DraftConflict()
        raise LinkClosed()
    # The session's copy now says what the row says, without reading it back.
    for name, value in {"status": uniform_target(event), **values}.items():
        set_committed_value(reference, name, value)


def _still_open(reference: Reference, nonce: str, event: Event) -> bool:
    """Whether the link still allows `event` (so a refused conditional update met a newer draft)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(Reference.id)).where(
                Reference.id == reference.id, Reference.link_nonce == nonce, Reference.status.in_(sources(event))
            )
        )
        == 1
    )


def save_draft(*, reference: Reference, nonce: str, answers: dict, version: int | None = None) -> int:
    """Keep the referee's answers so far (server-side, to resume from the same link); given the
    draft `version` the answers were made from, refused (DraftConflict) when a newer draft was saved.
    Returns the new version."""
    if version is not None and version != reference.draft_version:
        raise DraftConflict()
    new_version = reference.draft_version + 1
    _conditional_update(
        reference,
        nonce,
        Event.SAVE_DRAFT,
        version=reference.draft_version,
        draft=answers,
        draft_version=new_version,
        draft_saved_at=utcnow(),
        opened_at=reference.opened_at or utcnow(),
    )
    record(AuditAction.REFERENCE_DRAFT_SAVED, obj=reference)
    return new_version


def save_step(*, reference: Reference, nonce: str, answers: dict, owned: Step | None, version: int | None) -> int:
    """Merge the answers one step owns into the draft (the whole form's answers when `owned` is None)."""
    return save_draft(
        reference=reference, nonce=nonce, answers=merge_step(reference.draft, answers, owned), version=version
    )


def rating_problems(answers: dict) -> dict[str, str]:
    """What a complete rating still lacks, by form field."""
    problems: dict[str, str] = {}
    items = answers.get("items", {})
    valid = {value for value, _ in SCALE} | {NOT_ENOUGH_INFORMATION}
    for key in ITEM_KEYS:
        if items.get(key) not in valid:
            problems[f"item_{key}"] = _("Choose a rating, or “Not enough information to rate”.")
    if answers.get("recommendation") not in {r.value for r in Recommendation}:
        problems["recommendation"] = _("Choose your overall recommendation.")
    for field, message in (
        ("strengths", _("Describe the applicant's strengths.")),
        ("growth", _("Describe the applicant's areas for growth.")),
        ("relationship_role", _("Say in what role you know the applicant.")),
        ("relationship_setting", _("Say in what setting you know the applicant.")),
        ("relationship_years", _("Say how many years you have known the applicant.")),
        ("attestation_name", _("Type your full name to sign the rating.")),
    ):
        if not str(answers.get(field) or "").strip():
            problems[field] = message
    if answers.get("referee_role") not in {role.value for role in RefereeRole}:
        problems["referee_role"] = _("Choose your role toward the applicant.")
    endorsement = answers.get("endorsement")
    if endorsement not in {NOT_ENDORSED, *(c.value for c in Credential)}:
        problems["endorsement"] = _("Say whether you hold the Endorsement yourself.")
    elif endorsement != NOT_ENDORSED and str(answers.get("endorsed_category")) not in {str(n) for n in CATEGORIES}:
        problems["endorsed_category"] = _("Choose the category of your endorsement.")
    if not answers.get("attest"):
        problems["attest"] = _("Confirm that you are the referee named in the request.")
    return problems


def not_enough_information_items(answers: dict) -> list[str]:
    """The items answered "not enough information to rate", in the form's order."""
    items = answers.get("items", {})
    return [key for key in ITEM_KEYS if items.get(key) == NOT_ENOUGH_INFORMATION]


def low_items_beside_recommendation(answers: dict) -> list[str]:
    """Items scored at or below LOW_SCORE while the overall recommendation is positive: reviewers will
    question them (empty when the applicant is not recommended)."""
    try:
        positive = Recommendation(answers.get("recommendation")).is_positive
    except ValueError:
        return []
    items = answers.get("items", {})
    scores = {value for value, _ in SCALE if int(value) <= LOW_SCORE}
    return [key for key in ITEM_KEYS if positive and items.get(key) in scores]


def submit_rating(*, reference: Reference, nonce: str, answers: dict) -> Rating:
    """Store the rating once; a second submission (or one after a revocation) raises LinkClosed."""
    problems = rating_problems(answers)
    if problems:
        raise RatingIncomplete()
    now = utcnow()
    _conditional_update(reference, nonce, Event.SUBMIT, submitted_at=now, draft=answers)
    rating = rating_from_answers(reference, answers, now)
    db.session.add(rating)
    try:
        db.session.flush()
    except IntegrityError as exc:  # another submission stored its rating first
        raise LinkClosed() from exc
    record(AuditAction.REFERENCE_SUBMITTED, obj=reference, counts=rating.counts)
    announce_rating(reference, rating, now)
    return rating


def rating_from_answers(reference: Reference, answers: dict, now: datetime) -> Rating:
    """A complete set of answers (rating_problems finds none) as the reference's rating, dated `now`."""
    na_count = not_enough_information_count(answers["items"])
    rating = Rating(
        reference=reference,
        form_version=FORM_VERSION,
        answers={key: answers["items"][key] for key in ITEM_KEYS},
        not_enough_information=na_count,
        counts=na_count < current_app.config["NOT_ENOUGH_INFORMATION_LIMIT"],
        recommendation=Recommendation(answers["recommendation"]),
        strengths=answers["strengths"].strip(),
        growth=answers["growth"].strip(),
        for_reviewers=(answers.get("for_reviewers") or "").strip(),
        relationship_role=answers["relationship_role"].strip(),
        relationship_setting=answers["relationship_setting"].strip(),
        relationship_years=Decimal(str(answers["relationship_years"])),
        referee_role=RefereeRole(answers["referee_role"]),
        **_endorsement(answers),
        attestation_name=answers["attestation_name"].strip(),
        submitted_at=now,
    )
    return rating


def confirm_reuse(*, reference: Reference, nonce: str) -> Rating:
    """The referee lets the rating they gave on an earlier application stand for this one: a copy of
    it (its original date kept) becomes this reference's rating. Refused once that rating is over its
    year; a second confirmation (or one after a revocation) raises LinkClosed."""
    earlier = db.session.get(Reference, reference.reuses_id) if reference.reuses_id is not None else None
    original = earlier.rating if earlier is not None else None
    if original is None or earlier is None or earlier.email != reference.email:
        # Only the referee who gave the rating, at the address it was given from, may let it stand.
        raise Refused(_("This request does not ask about an earlier rating."))
    now = utcnow()
    if not is_still_valid(original, now):
        raise Refused(
            _(
                "Your rating of %(date)s is more than a year old, so it can no longer be used again. "
                "Please decline this request; the applicant can then ask you, or someone else, for a new rating.",
                date=format_date(original.submitted_at, "long"),
            )
        )
    _conditional_update(reference, nonce, Event.CONFIRM_REUSE, submitted_at=now, draft=None)
    rating = Rating(
        reference=reference,
        reused_from_id=original.id,
        **{column: getattr(original, column) for column in REUSED_COLUMNS},
        counts=original.not_enough_information < current_app.config["NOT_ENOUGH_INFORMATION_LIMIT"],
    )
    db.session.add(rating)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a concurrent confirmation stored its copy first
        raise LinkClosed() from exc
    record(AuditAction.REFERENCE_REUSE_CONFIRMED, obj=reference, rating=original.id, counts=rating.counts)
    announce_rating(reference, rating, now)
    return rating


# What a reused rating copies from the original: everything the referee said, and its date.
REUSED_COLUMNS = (
    "form_version",
    "answers",
    "not_enough_information",
    "recommendation",
    "strengths",
    "growth",
    "for_reviewers",
    "relationship_role",
    "relationship_setting",
    "relationship_years",
    "referee_role",
    "endorsed_credential",
    "endorsed_category",
    "endorsement_number",
    "attestation_name",
    "submitted_at",
)


def announce_rating(reference: Reference, rating: Rating, now: datetime) -> None:
    """The referee's receipt, the applicant's notice, and "all three are in" when this was the third."""
    tell_referee(reference, "reference_receipt", submitted_at=now)
    tell_applicant(reference, "reference_submitted", counted=rating.counts)
    application = reference.application
    if len(counted_references(application)) == REFERENCES_PER_APPLICATION:
        queue_email(
            "references_complete",
            application.applicant.email,
            applicant=application.applicant,
            application=application,
            link=external_url("submission.application_page", application_id=application.id),
        )


def _endorsement(answers: dict) -> dict[str, Any]:
    """The referee's own endorsement, as the rating stores it."""
    if answers["endorsement"] == NOT_ENDORSED:
        return {"endorsed_credential": None, "endorsed_category": None, "endorsement_number": None}
    return {
        "endorsed_credential": Credential(answers["endorsement"]),
        "endorsed_category": int(answers["endorsed_category"]),
        "endorsement_number": (answers.get("endorsement_number") or "").strip() or None,
    }


def decline_reference(*, reference: Reference, nonce: str, reason: str) -> None:
    """The referee declines; the applicant is told and can nominate someone else."""
    _conditional_update(reference, nonce, Event.DECLINE, declined_at=utcnow(), decline_reason=reason.strip() or None)
    record(AuditAction.REFERENCE_DECLINED, obj=reference)
    tell_applicant(reference, "reference_declined")
