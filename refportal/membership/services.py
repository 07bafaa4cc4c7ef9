"""Declaring membership; verification arrives with the reviewer workspace."""

from __future__ import annotations

from datetime import date

from refportal.accounts.models import User
from refportal.applications.fees import application_account
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utc_today, utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.membership.models import (
    Association,
    MembershipDeclaration,
    MembershipKind,
    MembershipStatus,
    VerificationSource,
)


def membership_fee_due(application: Application, today: date) -> bool:
    """The fee is owed unless the applicant has declared a current membership."""
    declaration = application.membership
    return declaration is None or not declaration.is_current_on(today)


def declare_membership(
    *,
    application: Application,
    actor: User,
    kind: MembershipKind,
    association: Association | None,
    association_name: str | None,
    member_number: str | None,
    expires_on: date | None,
    today: date,
) -> MembershipDeclaration:
    """Record (or replace) the applicant's declaration; a changed declaration must be verified again."""
    if not application.is_editable:
        raise Refused("This application can no longer be changed.")
    if kind is MembershipKind.CURRENT_MEMBER:
        if association is None:
            raise Refused("Choose the association you are a member of.", field="association")
        if association is Association.OTHER and not association_name:
            raise Refused("Name the infant mental health association.", field="association_name")
        if not member_number:
            raise Refused("Enter your member number.", field="member_number")
        if expires_on is None:
            raise Refused("Enter the date your membership expires.", field="expires_on")
        if expires_on < today:
            raise Refused(
                f"This membership expired on {expires_on:%d %B %Y}. Renew it first, or choose “I will join”.",
                field="expires_on",
            )
    else:
        # Joining means joining the portal's own association; its fee is added to the application.
        association, association_name, member_number, expires_on = Association.INFANCY_ONWARD, None, None, None
    if association is not Association.OTHER:
        association_name = None

    declaration = application.membership or MembershipDeclaration(application=application)
    declaration.kind = kind
    declaration.association = association
    declaration.association_name = association_name
    declaration.member_number = member_number
    declaration.expires_on = expires_on
    declaration.status = MembershipStatus.DECLARED
    declaration.declared_at = utcnow()
    declaration.verified_by_id = None
    declaration.verified_at = None
    declaration.verification_note = None
    declaration.verification_source = None
    db.session.add(declaration)
    record(
        AuditAction.MEMBERSHIP_DECLARED, obj=application, actor=actor, kind=kind.value, association=association.value
    )
    # The membership fee follows the declaration: no longer owed for a current member, owed again if not.
    application_account(application, membership_fee_due=membership_fee_due(application, today), actor=actor)
    return declaration


def verify_membership(
    *,
    application: Application,
    actor: User,
    verified: bool,
    note: str,
    today: date | None = None,
    member_number: str | None = None,
    expires_on: date | None = None,
) -> MembershipDeclaration:
    """A reviewer's check of the declared membership: verified or rejected, with a note.

    For an applicant who joins with the application ("will join"), verifying confirms the new
    membership: its member number and expiry date, from the association's records, are recorded on the
    declaration. A decided or withdrawn application's declaration is no longer changed."""
    declaration = application.membership
    if declaration is None:
        raise Refused("There is no declared membership to verify: the applicant has not declared one yet.")
    if not application.is_active:
        raise Refused(
            f"This application is {application.status.label.lower()}: its membership can no longer be verified "
            "or rejected."
        )
    note = note.strip()
    if not verified and not note:
        raise Refused("Say why the membership is rejected; the applicant will need to know.", field="note")
    if verified and declaration.kind is MembershipKind.WILL_JOIN:
        member_number = (member_number or "").strip()
        if not member_number:
            raise Refused(
                "Enter the new member number from the association's records to confirm the membership.",
                field="member_number",
            )
        if expires_on is None:
            raise Refused("Enter the date the new membership expires.", field="expires_on")
        if expires_on < (today or utc_today()):
            raise Refused(
                f"A membership that expired on {expires_on:%d %B %Y} cannot be confirmed.", field="expires_on"
            )
        declaration.member_number = member_number
        declaration.expires_on = expires_on
    declaration.status = MembershipStatus.VERIFIED if verified else MembershipStatus.REJECTED
    declaration.verified_by_id = actor.id
    declaration.verified_at = utcnow()
    declaration.verification_note = note or None
    declaration.verification_source = VerificationSource.REVIEWER
    record(
        AuditAction.MEMBERSHIP_VERIFIED if verified else AuditAction.MEMBERSHIP_REJECTED,
        obj=application,
        actor=actor,
        note=note or None,
        member_number=declaration.member_number if verified and declaration.kind is MembershipKind.WILL_JOIN else None,
    )
    return declaration
