"""A message to a referee that a mail server refused for good: the reference is bounced and the
applicant told, once."""

from __future__ import annotations

from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utcnow
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.mail.reasons import ADVICE, plain_words
from refportal.references import lifecycle
from refportal.references.models import Reference
from refportal.references.notices import tell_applicant
from refportal.security.redaction import without_secrets


def mark_bounced(sender, email: OutboxEmail, **_) -> None:
    """A message to a referee failed for good (SMTP 5xx or a later delivery report): mark the
    reference bounced and tell the applicant. Only a live reference changes, so a second report
    about the same message (or the SMTP refusal and its report) tells the applicant nothing more."""
    if email.related_type != Reference.__tablename__ or email.related_id is None:
        return
    reference = db.session.get(Reference, email.related_id)
    if (
        reference is None
        or reference.email != email.to_address
        or not lifecycle.allows(reference, lifecycle.Event.BOUNCE)
    ):
        return
    lifecycle.transition(reference, lifecycle.Event.BOUNCE)
    reference.bounced_at = utcnow()
    error = email.bounce_reason or email.last_error  # a delivery report's, or the SMTP refusal's
    # Staff read the audit trail: a server that quotes the message's link must not show its token.
    record(AuditAction.REFERENCE_BOUNCED, obj=reference, error=without_secrets(error, known_from=[email.body_text]))
    tell_applicant(reference, "reference_bounced", error=error, reason=plain_words(error), advice=ADVICE)
