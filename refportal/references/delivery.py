"""What the applicant sees of the delivery of each request: bounced (failed for good) or delayed,
with the reason in plain words and what to do."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.mail.reasons import ADVICE, plain_words
from refportal.references.models import Reference


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
