from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from refportal.db import Base, UTCDateTime, enum_column, utcnow


class OutboxStatus(enum.Enum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender until `claimed_until`
    SENT = "sent"
    FAILED = "failed"  # refused for good (5xx) or out of attempts


class OutboxEmail(Base):
    __tablename__ = "outbox_email"
    __table_args__ = (
        sa.Index("ix_outbox_email_due", "status", "next_attempt_at"),
        sa.Index("ix_outbox_email_related", "related_type", "related_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(sa.String(64))
    to_address: Mapped[str] = mapped_column(sa.String(254), index=True)
    subject: Mapped[str] = mapped_column(sa.String(255))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[OutboxStatus] = mapped_column(enum_column(OutboxStatus), default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    # The envelope sender (MAIL FROM) of the transmission the server accepted, written in the same
    # UPDATE that marks the row sent (refportal.mail.marks): its signed VERP address, or the plain
    # sender address without BOUNCE_ADDRESS. None: not sent (queued, failed before sending), or sent
    # before this column existed. Which delivery reports may name the row depends on it
    # (refportal.mail.bounces).
    return_path: Mapped[str | None] = mapped_column(sa.String(254))
    # The message as it goes on the wire (refportal.mail.wire), built when queued; None on rows
    # queued before this column existed (built when sent).
    wire_message: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    # What the message is about (e.g. "reference", 12), so a bounce can find it.
    related_type: Mapped[str | None] = mapped_column(sa.String(32))
    related_id: Mapped[int | None] = mapped_column()
    # A delivery report (DSN) received after the server accepted the message: a permanent failure
    # (bounced_at, kept once set: a second report changes nothing) or a delay (the latest one).
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bounce_reason: Mapped[str | None] = mapped_column(sa.String(500))
    delayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delay_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # Staff resent this message from the mail console: the row it copies.
    resent_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox_email.id", ondelete="SET NULL"))
