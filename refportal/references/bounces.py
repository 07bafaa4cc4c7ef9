"""A message to a referee that a mail server refused for good: the reference is bounced and the
applicant told, once."""
from __future__ import annotations


from refportal.audit.services import record
from refportal.db import utcnow
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.references import lifecycle
from refportal.references.models import Reference
from refportal.references.notices import tell_applicant


def mark_bounced(sender, email: OutboxEmail, **_) -> None:
    """A message to a referee was refused for good: mark the reference bounced and tell the applicant."""
    if email.related_type != Reference.__tablename__ or email.related_id is None:
        return
    reference = db.session.get(Reference, email.related_id)
    if reference is None or reference.email != email.to_address or not lifecycle.allows(reference, lifecycle.Event.BOUNCE):
        return
    lifecycle.transition(reference, lifecycle.Event.BOUNCE)
    reference.bounced_at = utcnow()
    record("reference.bounced", obj=reference, error=email.last_error)
    tell_applicant(reference, "reference_bounced", error=email.last_error)
