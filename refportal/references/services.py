"""The reference rules: nomination, invitations and links, the referee's draft, submission and
decline, reminders, expiry, bounces, and the applicant's corrections."""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy.orm import joinedload

from refportal.accounts.models import User
from refportal.applications.categories import Credential
from refportal.applications.models import Application
from refportal.audit.services import record
from refportal.db import utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.forms import normalize_email
from refportal.i18n import LANGUAGES
from refportal.mail.models import OutboxEmail
from refportal.mail.services import external_url, queue_email
from refportal.references.models import LIVE_STATUSES, Rating, Reference, ReferenceStatus
from refportal.references.rating_form import (
    DOMAINS,
    FORM_VERSION,
    ITEM_KEYS,
    NOT_ENOUGH_INFORMATION,
    SCALE,
    Recommendation,
    not_enough_information_count,
)
from refportal.references.roles import RefereeRole, rule_for, unmet_requirements
from refportal.security.tokens import TokenInvalid, load_token, make_token

REFERENCES_PER_APPLICATION = 3
TOKEN_PURPOSE = "reference-rating"
# The link still works after a bounce: a referee who got the message anyway may answer.
LINK_WORKS = (*LIVE_STATUSES, ReferenceStatus.BOUNCED)
# A referee can be replaced while they have not given a rating that counts.
REPLACEABLE = (*LIVE_STATUSES, ReferenceStatus.NOMINATED, ReferenceStatus.DECLINED, ReferenceStatus.BOUNCED,
               ReferenceStatus.EXPIRED)
# The e-mail can be corrected while nothing was answered from the link.
CORRECTABLE = (*LIVE_STATUSES, ReferenceStatus.NOMINATED, ReferenceStatus.BOUNCED, ReferenceStatus.EXPIRED)


ANSWERED_ALREADY = "This referee has answered already; their address can no longer be changed."
COUNTS_ALREADY = "This referee's rating counts toward your three: it cannot be replaced."


class LinkRevoked(Exception):
    """The link was replaced (new e-mail, new referee, fresh link): it no longer works."""


class LinkClosed(Exception):
    """The reference was answered (submitted or declined) or withdrawn since the page was opened."""


class RatingIncomplete(Refused):
    """Submitting needs every answer; `problems` maps form fields to messages."""

    def __init__(self, problems: dict[str, str]):
        super().__init__(_("Some answers are missing: they are marked below. Your answers are saved as a draft."))
        self.problems = problems


# ---------------------------------------------------------------------------------------------
# Nomination (applicant)


def active_references(application: Application) -> list[Reference]:
    return [r for r in application.references if r.status is not ReferenceStatus.WITHDRAWN]


def counted_references(application: Application) -> list[Reference]:
    return [r for r in active_references(application) if r.counts]


def _require_editable(application: Application) -> None:
    if not application.is_editable:
        raise Refused("This application has been submitted: its references can no longer be changed.")


def _single_line(value: str, field: str, what: str) -> str:
    if any(ch in value for ch in "\r\n"):
        raise Refused(f"The {what} cannot contain a line break.", field=field)
    return value


def _checked_email(application: Application, email: str, *, ignore: Reference | None = None) -> str:
    try:
        email = normalize_email(email)
    except ValueError as exc:
        raise Refused(str(exc), field="email") from exc
    if email == application.applicant.email:
        raise Refused("You cannot be your own referee: enter the referee's e-mail address.", field="email")
    if any(r.email == email for r in active_references(application) if r is not ignore):
        raise Refused("This referee is already one of your references: each referee rates you once.", field="email")
    return email


def _check_roles(application: Application, roles_after: list[RefereeRole]) -> None:
    rule = rule_for(application.category, application.mentor_track)
    unmet = unmet_requirements(rule, roles_after)
    free_slots = REFERENCES_PER_APPLICATION - len(roles_after)
    if len(unmet) > free_slots:
        needed = "; ".join(req.description for req in unmet)
        raise Refused(f"For {application.category_name} your three referees must include: {needed}.", field="role")


def nominate_referee(
    *,
    application: Application,
    actor: User,
    name: str,
    email: str,
    organisation: str,
    role: RefereeRole,
    setting: str,
    known_years: Decimal,
    endorsed_credential: Credential | None,
    endorsed_category: int | None,
    waived: bool,
    language: str = "en",
    replaces: Reference | None = None,
) -> Reference:
    """Add a referee (or replace one); the category's role rules are checked as the list fills up."""
    _require_editable(application)
    if replaces is not None:
        check_replaceable(replaces)
    name = _single_line(name, "name", "name")
    email = _checked_email(application, email, ignore=replaces)
    others = [r for r in active_references(application) if r is not replaces]
    if len(others) >= REFERENCES_PER_APPLICATION:
        raise Refused("An application has exactly three references. Replace one instead of adding a fourth.")
    rule = rule_for(application.category, application.mentor_track)
    if role not in rule.offered:
        raise Refused(f"That role is not one of the referee roles for {application.category_name}.", field="role")
    _check_roles(application, [r.role for r in others] + [role])
    if (endorsed_credential is None) != (endorsed_category is None):
        raise Refused("Give both the referee's endorsement and its category, or neither.", field="endorsed_category")
    if not 0 <= known_years <= 60:
        raise Refused("Enter how many years the referee has known you (0 to 60).", field="known_years")

    reference = Reference(
        application=application, name=name, email=email, organisation=organisation, role=role, setting=setting,
        known_years=known_years, endorsed_credential=endorsed_credential, endorsed_category=endorsed_category,
        waived=waived, language=language if language in LANGUAGES else "en",
    )
    db.session.add(reference)
    if replaces is not None:
        _withdraw(replaces, allowed=replaceable_statuses(replaces), refusal=COUNTS_ALREADY)
        reference.replaces_id = replaces.id
        if replaces.status is not ReferenceStatus.NOMINATED:
            _invite(reference, utcnow())  # requests were sent already: the new referee is asked at once
    record("reference.nominated", obj=reference, actor=actor, replaces=replaces.id if replaces else None)
    return reference


def remove_nomination(*, reference: Reference, actor: User) -> None:
    """Take back a referee who has not been asked yet."""
    _require_editable(reference.application)
    if reference.status is not ReferenceStatus.NOMINATED:
        raise Refused("This referee has been asked already: replace them instead.")
    record("reference.removed", obj=reference.application, actor=actor, reference=reference.id)
    reference.application.references.remove(reference)
    db.session.delete(reference)


def send_requests(*, application: Application, actor: User) -> list[Reference]:
    """Ask every nominated referee, once three are nominated and the role rules are met."""
    _require_editable(application)
    active = active_references(application)
    if len(active) != REFERENCES_PER_APPLICATION:
        raise Refused(f"Nominate three referees before sending the requests ({len(active)} of 3 so far).")
    _check_roles(application, [r.role for r in active])
    pending = [r for r in active if r.status is ReferenceStatus.NOMINATED]
    if not pending:
        raise Refused("Every request has been sent already.")
    now = utcnow()
    for reference in pending:
        _invite(reference, now)
    record("reference.requests_sent", obj=application, actor=actor, count=len(pending))
    return pending


# ---------------------------------------------------------------------------------------------
# The link


def link_max_age() -> timedelta:
    return timedelta(seconds=current_app.config["REFERENCE_LINK_MAX_AGE"])


def link_deadline(reference: Reference) -> datetime:
    return reference.link_issued_at + link_max_age()


def link_token(reference: Reference) -> str:
    """The referee's link: the same token for as long as the invitation stands."""
    return make_token(TOKEN_PURPOSE, {"rid": reference.id, "n": reference.link_nonce}, issued_at=reference.link_issued_at)


def _invite(reference: Reference, now: datetime, template: str = "reference_request") -> None:
    """Issue a new link (revoking any earlier one) and queue the e-mail that carries it."""
    db.session.flush()  # the reference needs its id for the link
    reference.link_nonce = secrets.token_urlsafe(24)
    reference.link_issued_at = now
    reference.invited_at = now
    reference.status = ReferenceStatus.IN_PROGRESS if reference.draft else ReferenceStatus.INVITED
    reference.expired_at = None
    record("reference.invited", obj=reference, template=template)
    _send_link(reference, template)


def _send_link(reference: Reference, template: str) -> None:
    application = reference.application
    token = link_token(reference)
    with force_locale(reference.language):  # the referee's e-mails in the referee's language
        _queue_link_email(reference, application, template, token)


def _queue_link_email(reference: Reference, application: Application, template: str, token: str) -> None:
    queue_email(
        template,
        reference.email,
        related=reference,
        reference=reference,
        applicant=application.applicant,
        application=application,
        link=external_url("referee.rating_form", token=token),
        decline_link=external_url("referee.decline", token=token),
        deadline=link_deadline(reference),
        domains=DOMAINS,
    )


def reference_for_token(token: str) -> Reference:
    """The reference a link is for, or TokenInvalid / TokenExpired / LinkRevoked."""
    payload = load_token(TOKEN_PURPOSE, token, current_app.config["REFERENCE_LINK_MAX_AGE"])
    return _reference_for_payload(payload)


def _reference_for_payload(payload: dict) -> Reference:
    rid = payload.get("rid")
    # The referee's pages show the applicant and the application: one statement for all three.
    reference = db.session.scalar(
        sa.select(Reference).where(Reference.id == rid)
        .options(joinedload(Reference.application).joinedload(Application.applicant))
    ) if isinstance(rid, int) else None
    if reference is None:
        raise TokenInvalid("no such reference")
    if not reference.link_nonce or not secrets.compare_digest(reference.link_nonce, str(payload.get("n", ""))):
        raise LinkRevoked()
    return reference


def reference_for_expired_payload(payload: dict | None) -> Reference:
    """The reference behind a genuine but expired link (to offer a fresh one), or LinkRevoked."""
    if not payload:
        raise TokenInvalid("unreadable")
    return _reference_for_payload(payload)


def record_opened(reference: Reference) -> bool:
    """Opening the link (GET) only notes the first visit; it never decides anything.
    True when this was the first visit (a change to commit)."""
    if reference.status not in (ReferenceStatus.INVITED, ReferenceStatus.BOUNCED):
        return False
    reference.status = ReferenceStatus.OPENED
    reference.opened_at = reference.opened_at or utcnow()
    record("reference.opened", obj=reference)
    return True


def send_fresh_link(*, reference: Reference) -> None:
    """After a link expired, the referee asks for a new one, sent to the same address."""
    if reference.status not in (*LINK_WORKS, ReferenceStatus.EXPIRED):
        raise LinkClosed()
    interval = timedelta(minutes=current_app.config["REFERENCE_FRESH_LINK_INTERVAL_MINUTES"])
    now = utcnow()
    if reference.link_issued_at and now - reference.link_issued_at < interval:
        raise Refused(_("A fresh link was sent a few minutes ago: please look in your inbox (and spam folder)."))
    _invite(reference, now, template="reference_fresh_link")
    record("reference.fresh_link_sent", obj=reference)


# ---------------------------------------------------------------------------------------------
# The referee's answers


def draft_digest(answers: dict) -> str:
    """Identifies one set of answers, so the confirmation submits exactly what the summary showed."""
    return hashlib.sha256(json.dumps(answers, sort_keys=True).encode()).hexdigest()


def _conditional_update(reference: Reference, nonce: str, **values) -> None:
    """Change the reference only if its link is still this one and still open: one statement, so a
    concurrent submission, decline or revocation cannot be overwritten."""
    result = db.session.execute(
        sa.update(Reference)
        .where(Reference.id == reference.id, Reference.link_nonce == nonce, Reference.status.in_(LINK_WORKS))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LinkClosed()
    db.session.refresh(reference)


def save_draft(*, reference: Reference, nonce: str, answers: dict) -> None:
    """Keep the referee's answers so far (server-side, to resume from the same link)."""
    _conditional_update(
        reference, nonce, draft=answers, draft_saved_at=utcnow(), status=ReferenceStatus.IN_PROGRESS,
        opened_at=reference.opened_at or utcnow(),
    )
    record("reference.draft_saved", obj=reference)


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
    if not answers.get("attest"):
        problems["attest"] = _("Confirm that you are the referee named in the request.")
    return problems


def submit_rating(*, reference: Reference, nonce: str, answers: dict) -> Rating:
    """Store the rating once; a second submission (or one after a revocation) raises LinkClosed."""
    problems = rating_problems(answers)
    if problems:
        raise RatingIncomplete(problems)
    now = utcnow()
    _conditional_update(reference, nonce, status=ReferenceStatus.SUBMITTED, submitted_at=now, draft=answers)
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
        attestation_name=answers["attestation_name"].strip(),
        submitted_at=now,
    )
    db.session.add(rating)
    db.session.flush()
    record("reference.submitted", obj=reference, counts=rating.counts)
    _tell_applicant(reference, "reference_submitted", counted=rating.counts)
    application = reference.application
    if len(counted_references(application)) == REFERENCES_PER_APPLICATION:
        queue_email("references_complete", application.applicant.email, applicant=application.applicant,
                    application=application, link=external_url("applications.show", application_id=application.id))
    return rating


def decline_reference(*, reference: Reference, nonce: str, reason: str) -> None:
    """The referee declines; the applicant is told and can nominate someone else."""
    _conditional_update(
        reference, nonce, status=ReferenceStatus.DECLINED, declined_at=utcnow(), decline_reason=reason.strip() or None
    )
    record("reference.declined", obj=reference)
    _tell_applicant(reference, "reference_declined")


def _tell_applicant(reference: Reference, template: str, **context) -> None:
    """Status news for the applicant: never any of the rating's content."""
    application = reference.application
    queue_email(
        template,
        application.applicant.email,
        applicant=application.applicant,
        application=application,
        referee_name=reference.name,
        referee_email=reference.email,
        link=external_url("references.index", application_id=application.id),
        **context,
    )


# ---------------------------------------------------------------------------------------------
# The applicant's actions on a reference


def remind_referee(*, reference: Reference, actor: User | None) -> None:
    """Re-send the same live link (at most once per interval)."""
    if reference.status not in LIVE_STATUSES:
        raise Refused("Only a referee who has been asked and has not answered yet can be reminded.")
    interval = timedelta(hours=current_app.config["REFERENCE_REMINDER_INTERVAL_HOURS"])
    now = utcnow()
    if reference.last_reminder_at and now - reference.last_reminder_at < interval:
        next_time = reference.last_reminder_at + interval
        raise Refused(f"A reminder was sent recently. The next one can be sent after {next_time:%d %B %Y, %H:%M} UTC.")
    reference.last_reminder_at = now
    _send_link(reference, "reference_reminder")
    record("reference.reminded", obj=reference, actor=actor)


def correct_email(*, reference: Reference, actor: User, email: str) -> Reference:
    """Fix a referee's address: the old link is revoked and a new one sent to the new address."""
    application = reference.application
    _require_editable(application)
    if reference.status not in CORRECTABLE:
        raise Refused("This referee has answered already; their address can no longer be changed.")
    email = _checked_email(application, email, ignore=reference)
    if reference.status is ReferenceStatus.NOMINATED:
        reference.email = email  # not asked yet: nothing to revoke
        record("reference.email_corrected", obj=reference, actor=actor)
        return reference
    corrected = Reference(
        application=application, replaces_id=reference.id, email=email, draft=reference.draft,
        **{column: getattr(reference, column) for column in (
            "name", "organisation", "role", "setting", "known_years", "endorsed_credential", "endorsed_category", "waived",
            "language",
        )},
    )
    db.session.add(corrected)
    _withdraw(reference, allowed=CORRECTABLE, refusal=ANSWERED_ALREADY)
    _invite(corrected, utcnow())
    record("reference.email_corrected", obj=corrected, actor=actor, replaces=reference.id)
    return corrected


def replaceable_statuses(reference: Reference) -> tuple[ReferenceStatus, ...]:
    """A referee can be replaced until their rating counts (a submitted one that does not, may be)."""
    submitted_not_counting = reference.status is ReferenceStatus.SUBMITTED and not reference.counts
    return (*REPLACEABLE, ReferenceStatus.SUBMITTED) if submitted_not_counting else REPLACEABLE


def check_replaceable(reference: Reference) -> None:
    """Refused unless the referee can still be replaced."""
    _require_editable(reference.application)
    if reference.status not in replaceable_statuses(reference):
        raise Refused(COUNTS_ALREADY)


def _withdraw(reference: Reference, *, allowed: tuple[ReferenceStatus, ...], refusal: str) -> None:
    """Revoke the reference's link, in one statement that also checks its state: if the referee
    answered in the meantime, the answer stands and the applicant's change is refused."""
    result = db.session.execute(
        sa.update(Reference)
        .where(Reference.id == reference.id, Reference.status.in_(allowed))
        .values(status=ReferenceStatus.WITHDRAWN, withdrawn_at=utcnow(), link_nonce=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Refused(refusal)
    db.session.refresh(reference)


# ---------------------------------------------------------------------------------------------
# Scheduled work and delivery events


def run_reminders(*, now: datetime | None = None) -> tuple[int, int]:
    """Expire links past their age and send due reminders; safe to run any number of times.

    Returns (reminders sent, references expired)."""
    now = now or utcnow()
    days = current_app.config["REFERENCE_REMINDER_DAYS"]
    interval = timedelta(hours=current_app.config["REFERENCE_REMINDER_INTERVAL_HOURS"])
    reminded = expired = 0
    live = db.session.scalars(sa.select(Reference).where(Reference.status.in_(LIVE_STATUSES)).order_by(Reference.id))
    for reference in live:
        if now >= link_deadline(reference):
            reference.status = ReferenceStatus.EXPIRED
            reference.expired_at = now
            record("reference.expired", obj=reference)
            _tell_applicant(reference, "reference_expired")
            expired += 1
            continue
        sent = reference.auto_reminders_sent
        due = sent < len(days) and now >= reference.link_issued_at + timedelta(days=days[sent])
        recent = reference.last_reminder_at is not None and now - reference.last_reminder_at < interval
        if due and not recent:
            reference.auto_reminders_sent = sent + 1
            reference.last_reminder_at = now
            _send_link(reference, "reference_reminder")
            record("reference.reminded", obj=reference, automatic=True)
            reminded += 1
        elif due:
            reference.auto_reminders_sent = sent + 1  # the applicant's own reminder stood in for this one
    return reminded, expired


def mark_bounced(sender, email: OutboxEmail, **_) -> None:
    """A message to a referee was refused for good: mark the reference bounced and tell the applicant."""
    if email.related_type != Reference.__tablename__ or email.related_id is None:
        return
    reference = db.session.get(Reference, email.related_id)
    if reference is None or reference.email != email.to_address or reference.status not in LIVE_STATUSES:
        return
    reference.status = ReferenceStatus.BOUNCED
    reference.bounced_at = utcnow()
    record("reference.bounced", obj=reference, error=email.last_error)
    _tell_applicant(reference, "reference_bounced", error=email.last_error)
