"""The delivery of each request to a referee: a message refused for good bounces the reference and
tells the applicant once (`mark_bounced`), and what the applicant sees of each request's delivery,
bounced or delayed, with the reason in plain words and what to do (`delivery_news`)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

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


@dataclass(frozen=True)
class DeliveryNews:
    kind: str  # "bounced" or "delayed"
    reason: str  # plain words
    advice: str = ADVICE


def delivery_news(references: list[Reference]) -> dict[int, DeliveryNews]:
    """For each reference whose newest request message failed or is delayed, the news (one statement)."""
    ids = [reference.id for reference in references]
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(
            OutboxEmail.related_id,
            OutboxEmail.to_address,
            OutboxEmail.bounced_at,
            OutboxEmail.bounce_reason,
            OutboxEmail.last_error,
            OutboxEmail.delayed_at,
            OutboxEmail.delay_reason,
        )
        .where(OutboxEmail.related_type == Reference.__tablename__, OutboxEmail.related_id.in_(ids))
        .order_by(OutboxEmail.id)
    ).all()
    by_id = {reference.id: reference for reference in references}
    news: dict[int, DeliveryNews] = {}
    for related_id, to, bounced_at, bounce_reason, last_error, delayed_at, delay_reason in rows:
        reference = by_id.get(related_id) if related_id is not None else None
        if reference is None or to != reference.email:
            continue
        if reference.has_bounced:
            news[reference.id] = DeliveryNews("bounced", plain_words(bounce_reason or last_error))
        elif delayed_at is not None and bounced_at is None and reference.is_awaiting_answer:
            news[reference.id] = DeliveryNews("delayed", plain_words(delay_reason))
    return news


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
