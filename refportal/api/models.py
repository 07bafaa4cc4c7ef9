from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from refportal.db import Base, UTCDateTime, enum_column, utcnow


class Scope(enum.Enum):
    READ_APPLICATIONS = "read:applications"
    WRITE_ROSTER = "write:roster"
    READ_REGISTRY = "read:registry"


class ApiKey(Base):
    """A named key for the association's systems: shown once, stored as its SHA-256 (the key is 32
    random bytes, so a fast hash is enough), with its scopes; revoked keys stay for the audit trail."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    prefix: Mapped[str] = mapped_column(sa.String(16))  # the key's first characters, to recognise it
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[list] = mapped_column(sa.JSON)  # Scope values
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def allows(self, scope: Scope) -> bool:
        return self.revoked_at is None and scope.value in self.scopes


class DeliveryStatus(enum.Enum):
    QUEUED = "queued"
    SENT = "sent"  # the endpoint answered 2xx
    FAILED = "failed"  # out of attempts, or the endpoint was disabled


class WebhookEndpoint(Base):
    """A URL of the association's systems that is told of each event, signed with its secret."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    secret: Mapped[str] = mapped_column(sa.String(64))  # shown once; signs every delivery (HMAC-SHA256)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column()  # the last HTTP status (None: no answer)
    last_response: Mapped[str | None] = mapped_column(sa.String(500))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None and self.deleted_at is None


class WebhookDelivery(Base):
    """One event for one endpoint: queued in the transaction of the change, sent by the worker."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (sa.Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(sa.String(36))  # the same for every endpoint told of the event
    event_type: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict] = mapped_column(sa.JSON)
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus), default=DeliveryStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.String(500))

    endpoint: Mapped[WebhookEndpoint] = relationship()


class IdempotentRequest(Base):
    """A write through the API with its Idempotency-Key: the same key and body again replays the
    stored answer instead of doing the work twice."""

    __tablename__ = "api_idempotent_request"
    __table_args__ = (sa.UniqueConstraint("api_key_id", "idempotency_key", name="uq_api_idempotent_request"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(sa.ForeignKey("api_key.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(sa.String(100))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[int] = mapped_column()
    response: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
