"""An endorsement ended before its time: relinquished by its holder, or revoked by the association.

Both are final (lifecycle.FINAL): the endorsement leaves the registry at once and its verification page
says it is not valid; its history keeps the day. A revocation needs a reason, and the holder is told by
e-mail. Each goes through lifecycle.transition(), whose conditional UPDATE refuses a second ending from an
older tab (or an ending raced by the worker's lapse)."""

from __future__ import annotations

from refportal.accounts.models import User
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.endorsements.lifecycle import Event, transition
from refportal.endorsements.models import Endorsement
from refportal.exceptions import Refused
from refportal.mail.services import external_url, queue_email

MAX_REASON = 2000


def relinquish(endorsement: Endorsement, *, holder: User) -> None:
    """The holder gives their endorsement up (only one in force)."""
    if endorsement.holder_id != holder.id:
        raise Refused("Only the endorsement's holder can give it up.")
    transition(endorsement, Event.RELINQUISH)
    record(AuditAction.ENDORSEMENT_RELINQUISHED, obj=endorsement, actor=holder, number=endorsement.number)


def revoke(endorsement: Endorsement, *, reason: str, actor: User) -> None:
    """The association withdraws the endorsement, saying why; the holder is told."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused("Say why the endorsement is revoked: the holder is told.", field="reason")
    if len(reason) > MAX_REASON:
        raise Refused(f"Keep the reason under {MAX_REASON:,} characters.", field="reason")
    transition(endorsement, Event.REVOKE)
    record(AuditAction.ENDORSEMENT_REVOKED, obj=endorsement, actor=actor, number=endorsement.number)
    queue_email(
        "endorsement_revoked",
        endorsement.holder.email,
        related=endorsement,
        name=endorsement.holder.name,
        number=endorsement.number,
        credential=endorsement.credential.short,
        category_name=endorsement.category_name,
        reason=reason,
        dashboard_url=external_url("submission.dashboard"),
    )
