"""The applicant's referees: nominating (and replacing) them under the category's role rules, sending
the requests, correcting an address; a replaced or corrected reference is withdrawn and its link revoked."""

from __future__ import annotations

from decimal import Decimal

from refportal.accounts.models import Role, User
from refportal.applications.categories import Credential
from refportal.applications.fees import require_fee_before_requests
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.i18n import LANGUAGES
from refportal.mail.addresses import normalize_email
from refportal.references.closing import end_request
from refportal.references.lifecycle import REFUSALS, Event, ReferenceStatus, TransitionRefused, target
from refportal.references.links import issue_link
from refportal.references.models import Reference
from refportal.references.roles import RefereeRole, rule_for, unmet_requirements

REFERENCES_PER_APPLICATION = 3


def active_references(application: Application) -> list[Reference]:
    """The application's references that have not ended (withdrawn or cancelled)."""
    return [r for r in application.references if not r.has_ended]


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
        application=application,
        name=name,
        email=email,
        organisation=organisation,
        role=role,
        setting=setting,
        known_years=known_years,
        endorsed_credential=endorsed_credential,
        endorsed_category=endorsed_category,
        waived=waived,
        language=language if language in LANGUAGES else "en",
    )
    db.session.add(reference)
    if replaces is not None:
        requests_sent = replaces.status is not ReferenceStatus.NOMINATED
        _withdraw(replaces, Event.REPLACE)
        reference.replaces_id = replaces.id
        if requests_sent:
            issue_link(reference, utcnow())  # the requests went out already: the new referee is asked at once
    record(AuditAction.REFERENCE_NOMINATED, obj=reference, actor=actor, replaces=replaces.id if replaces else None)
    return reference


def remove_nomination(*, reference: Reference, actor: User) -> None:
    """Take back a referee who has not been asked yet."""
    _require_editable(reference.application)
    if not reference.can_remove:
        raise Refused("This referee has been asked already: replace them instead.")
    record(AuditAction.REFERENCE_REMOVED, obj=reference.application, actor=actor, reference=reference.id)
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
    require_fee_before_requests(application)
    now = utcnow()
    for reference in pending:
        issue_link(reference, now)
    record(AuditAction.REFERENCE_REQUESTS_SENT, obj=application, actor=actor, count=len(pending))
    return pending


def correct_email(*, reference: Reference, actor: User, email: str) -> Reference:
    """Fix a referee's address: the old link is revoked and a new one sent to the new address.

    The applicant does it while the application is editable; an administrator (from the mail console,
    for a referee whose request bounced) also while it is submitted, until it is decided or withdrawn."""
    application = reference.application
    if actor.role is Role.ADMIN:
        if not application.is_active:
            raise Refused("This application is closed: its requests have ended.")
    else:
        _require_editable(application)
    after = target(reference, Event.CORRECT_EMAIL)
    email = _checked_email(application, email, ignore=reference)
    if after is ReferenceStatus.NOMINATED:
        reference.email = email  # not asked yet: nothing to revoke
        record(AuditAction.REFERENCE_EMAIL_CORRECTED, obj=reference, actor=actor)
        return reference
    corrected = Reference(
        application=application,
        replaces_id=reference.id,
        email=email,
        draft=reference.draft,
        **{
            column: getattr(reference, column)
            for column in (
                "name",
                "organisation",
                "role",
                "setting",
                "known_years",
                "endorsed_credential",
                "endorsed_category",
                "waived",
                "language",
            )
        },
    )
    db.session.add(corrected)
    _withdraw(reference, Event.CORRECT_EMAIL)
    issue_link(corrected, utcnow())
    record(AuditAction.REFERENCE_EMAIL_CORRECTED, obj=corrected, actor=actor, replaces=reference.id)
    return corrected


def check_replaceable(reference: Reference) -> None:
    """Refused unless the referee can still be replaced (until their rating counts)."""
    _require_editable(reference.application)
    target(reference, Event.REPLACE)


def _withdraw(reference: Reference, event: Event) -> None:
    """End the old request of a replaced or corrected referee, or refuse if they answered meanwhile."""
    if not end_request(reference, event):
        raise TransitionRefused(REFUSALS[event])
