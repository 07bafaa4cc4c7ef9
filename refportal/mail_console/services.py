"""The staff mail console: every outbox message with its delivery state, the message as sent with its
secret links hidden, and a resend.

A message's delivery state for staff (`Delivery`) is read from the outbox row: queued (never tried),
retrying (a temporary failure; the next attempt is due at `next_attempt_at`), sending, sent, delayed
(a delivery report said the receiving server is still trying), bounced (a delivery report said it will
never arrive) and failed (the portal's mail server refused it, or every attempt failed)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import load_only

from refportal.accounts.models import User
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.mail.models import OutboxEmail, OutboxStatus
from refportal.mail.wire import wire_bytes
from refportal.references.lifecycle import LINK_WORKS
from refportal.references.links import link_token
from refportal.references.models import Reference
from refportal.security.redaction import Redactor


class Delivery(enum.Enum):
    QUEUED = "queued"
    RETRYING = "retrying"
    SENDING = "sending"
    SENT = "sent"
    DELAYED = "delayed"
    BOUNCED = "bounced"
    FAILED = "failed"

    @property
    def condition(self) -> sa.ColumnElement[bool]:
        """The outbox rows in this state, as SQL."""
        row = OutboxEmail
        return {
            Delivery.QUEUED: sa.and_(row.status == OutboxStatus.QUEUED, row.attempts == 0),
            Delivery.RETRYING: sa.and_(row.status == OutboxStatus.QUEUED, row.attempts > 0),
            Delivery.SENDING: row.status == OutboxStatus.SENDING,
            Delivery.SENT: sa.and_(row.status == OutboxStatus.SENT, row.bounced_at.is_(None), row.delayed_at.is_(None)),
            Delivery.DELAYED: sa.and_(
                row.status == OutboxStatus.SENT, row.bounced_at.is_(None), row.delayed_at.is_not(None)
            ),
            Delivery.BOUNCED: row.bounced_at.is_not(None),
            Delivery.FAILED: sa.and_(row.status == OutboxStatus.FAILED, row.bounced_at.is_(None)),
        }[self]


def delivery_of(email: OutboxEmail) -> Delivery:
    if email.bounced_at is not None:
        return Delivery.BOUNCED
    if email.status is OutboxStatus.QUEUED:
        return Delivery.RETRYING if email.attempts else Delivery.QUEUED
    if email.status is OutboxStatus.SENDING:
        return Delivery.SENDING
    if email.status is OutboxStatus.FAILED:
        return Delivery.FAILED
    return Delivery.DELAYED if email.delayed_at is not None else Delivery.SENT


def reason_of(email: OutboxEmail) -> str | None:
    """The mail server's own words for the state: the delivery report's, else the SMTP reply."""
    delivery = delivery_of(email)
    if delivery is Delivery.BOUNCED:
        return email.bounce_reason
    if delivery is Delivery.DELAYED:
        return email.delay_reason
    if delivery in (Delivery.RETRYING, Delivery.FAILED, Delivery.SENDING):
        return email.last_error
    return None


def can_resend(email: OutboxEmail) -> bool:
    """A message the sender is done with (sent, delayed, bounced, failed) may be sent again."""
    return email.status in (OutboxStatus.SENT, OutboxStatus.FAILED)


@dataclass(frozen=True)
class ConsoleFilters:
    address: str = ""
    delivery: Delivery | None = None
    queued_from: date | None = None
    queued_to: date | None = None


@dataclass(frozen=True)
class ConsoleRow:
    email: OutboxEmail
    application_id: int | None  # the application the message is about, when it is about one

    @property
    def delivery(self) -> Delivery:
        return delivery_of(self.email)

    @cached_property
    def _redactor(self) -> Redactor:
        # The subject and the reason are listed; the tokens to hide are the body's.
        return Redactor.for_message(self.email.subject, reason_of(self.email) or "", also_known=[self.email.body_text])

    @property
    def reason(self) -> str | None:
        reason = reason_of(self.email)
        return self._redactor.text(reason) if reason else None

    @property
    def subject(self) -> str:
        return self._redactor.text(self.email.subject)


@dataclass(frozen=True)
class ConsolePage:
    rows: list[ConsoleRow]
    number: int
    per_page: int
    total: int | None  # None: more than `count_limit` messages match
    count_limit: int
    has_next: bool

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // self.per_page))


# What the list shows of a row (the text body only to know the tokens its subject must not show): never
# the HTML body or the wire message.
LISTED_COLUMNS = (
    OutboxEmail.id,
    OutboxEmail.template,
    OutboxEmail.to_address,
    OutboxEmail.subject,
    OutboxEmail.body_text,
    OutboxEmail.status,
    OutboxEmail.attempts,
    OutboxEmail.created_at,
    OutboxEmail.next_attempt_at,
    OutboxEmail.sent_at,
    OutboxEmail.last_error,
    OutboxEmail.related_type,
    OutboxEmail.related_id,
    OutboxEmail.bounced_at,
    OutboxEmail.bounce_reason,
    OutboxEmail.delayed_at,
    OutboxEmail.delay_reason,
    OutboxEmail.resent_from_id,
)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _filtered(filters: ConsoleFilters, *columns: Any) -> sa.Select[Any]:
    query = sa.select(*columns)
    if filters.address:
        # The typed text is matched as it is: % and _ are no wildcards (SQLAlchemy escapes them).
        query = query.where(sa.func.lower(OutboxEmail.to_address).contains(filters.address.lower(), autoescape=True))
    if filters.delivery is not None:
        query = query.where(filters.delivery.condition)
    if filters.queued_from is not None:
        query = query.where(OutboxEmail.created_at >= _start_of(filters.queued_from))
    if filters.queued_to is not None:
        query = query.where(OutboxEmail.created_at < _start_of(filters.queued_to + timedelta(days=1)))
    return query


def console_page(filters: ConsoleFilters, *, page: int, per_page: int, count_limit: int) -> ConsolePage:
    """One page of messages, newest first: two statements at any size of the outbox (the count stops
    at `count_limit`; the page's rows come with the application they are about, by one outer join)."""
    limited = _filtered(filters, OutboxEmail.id).limit(count_limit + 1).subquery()
    matching = db.session.scalar(sa.select(sa.func.count()).select_from(limited)) or 0
    query = (
        _filtered(filters, OutboxEmail, Reference.application_id)
        .outerjoin(
            Reference,
            sa.and_(OutboxEmail.related_type == Reference.__tablename__, OutboxEmail.related_id == Reference.id),
        )
        .options(load_only(*LISTED_COLUMNS))
        .order_by(OutboxEmail.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)  # one more than shown: is there a next page?
    )
    rows = [ConsoleRow(row[0], row[1]) for row in db.session.execute(query)]
    return ConsolePage(
        rows=rows[:per_page],
        number=page,
        per_page=per_page,
        total=matching if matching <= count_limit else None,
        count_limit=count_limit,
        has_next=len(rows) > per_page,
    )


def related_reference(email: OutboxEmail) -> Reference | None:
    """The reference a message is about (a referee's request, an applicant's notice), or None."""
    if email.related_type != Reference.__tablename__ or email.related_id is None:
        return None
    return db.session.get(Reference, email.related_id)


def redactor_for(email: OutboxEmail) -> Redactor:
    """What hides the secrets of one message: it knows every genuine token in any of its parts."""
    return Redactor.for_message(email.subject, email.body_text, email.body_html)


def link_tokens(text: str) -> list[tuple[str, str, str]]:
    """Every link in `text` whose path carries a token (on any host: the portal's may have moved since):
    (the link, its endpoint, the token)."""
    return [
        (link.url, link.endpoint, token)
        for link in Redactor.for_message().links(text)
        if link.endpoint and isinstance(token := link.arguments.get("token"), str) and token
    ]


def hide_link_tokens(text: str, redactor: Redactor | None = None) -> str:
    """The text with every secret hidden (a referee's, a password reset's, an invitation's token):
    staff read the message, they cannot act as its reader."""
    return (redactor or Redactor.for_message(text)).text(text)


def html_as_shown_to_staff(html: str, redactor: Redactor | None = None) -> str:
    """The HTML part with its secrets hidden and its links inert (no href), re-serialized from its parse."""
    return (redactor or Redactor.for_message(html)).html(html)


def resend(*, email: OutboxEmail, actor: User) -> OutboxEmail:
    """Queue the same message again as a new outbox row (its own Message-ID and return path)."""
    if not can_resend(email):
        raise Refused("This message is still with the sender: it will be sent, or tried again, on its own.")
    _check_referee_link_still_works(email)
    copy = OutboxEmail(
        template=email.template,
        to_address=email.to_address,
        subject=email.subject,
        body_text=email.body_text,
        body_html=email.body_html,
        related_type=email.related_type,
        related_id=email.related_id,
        resent_from_id=email.id,
    )
    db.session.add(copy)
    db.session.flush()  # the id is in the Message-ID
    copy.wire_message = wire_bytes(copy)
    record(
        AuditAction.EMAIL_RESENT, obj=copy, actor=actor, original=email.id, to=email.to_address, template=email.template
    )
    return copy


def _check_referee_link_still_works(email: OutboxEmail) -> None:
    """A referee's request whose link no longer leads to the form (the referee answered or was replaced,
    the address corrected, the application withdrawn, the link expired) is refused."""
    tokens = {token for _, endpoint, token in link_tokens(email.body_text) if endpoint == "referee.rating_form"}
    if not tokens:
        return
    reference = related_reference(email)
    if (
        reference is None
        or reference.status not in LINK_WORKS
        or not reference.link_nonce
        or link_token(reference) not in tokens
    ):
        raise Refused(
            "The referee link in this message no longer leads to the rating form (the referee answered or was "
            "replaced, the address was corrected, the link expired or the application ended): resending it "
            "would not help."
        )
