"""Webhooks: each audited event the association's systems care about becomes one delivery row per
active endpoint, in the transaction of the change (like the mail outbox); the worker posts them,
signed, with retries and backoff, and disables an endpoint after WEBHOOK_DISABLE_AFTER failures in a
row (administrators are told).

Signature: header `Refportal-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the
endpoint's secret>`; `Refportal-Event-Id` is the same for every endpoint told of one event (for
de-duplication), `Refportal-Event` names the event type."""

from __future__ import annotations

import enum
import hashlib
import hmac
import http.client
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from refportal import claims
from refportal.accounts.models import Role, User
from refportal.api.changes import application_of
from refportal.api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from refportal.api.outbound import DEFAULT_PORTS, AddressRefused, is_host_name, post, resolve
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.audit.services import record
from refportal.db import utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.mail.services import external_url, queue_email
from refportal.transactions import unit_of_work

log = logging.getLogger("refportal.webhooks")


# Audited action -> the event the association's systems are told of.
class WebhookEvent(enum.StrEnum):
    """The events the association's systems are told of (the `Refportal-Event` header; a public name)."""

    REFERENCE_SUBMITTED = "reference.submitted"
    REFERENCE_DECLINED = "reference.declined"
    REFERENCE_BOUNCED = "reference.bounced"
    APPLICATION_SUBMITTED = "application.submitted"
    DECISION_RECORDED = "decision.recorded"
    MEMBERSHIP_VERIFIED = "membership.verified"


EVENTS: dict[AuditAction, WebhookEvent] = {
    AuditAction.REFERENCE_SUBMITTED: WebhookEvent.REFERENCE_SUBMITTED,
    AuditAction.REFERENCE_REUSE_CONFIRMED: WebhookEvent.REFERENCE_SUBMITTED,
    AuditAction.REFERENCE_DECLINED: WebhookEvent.REFERENCE_DECLINED,
    AuditAction.REFERENCE_BOUNCED: WebhookEvent.REFERENCE_BOUNCED,
    AuditAction.APPLICATION_SUBMITTED: WebhookEvent.APPLICATION_SUBMITTED,
    AuditAction.APPLICATION_DECIDED: WebhookEvent.DECISION_RECORDED,
    AuditAction.MEMBERSHIP_VERIFIED: WebhookEvent.MEMBERSHIP_VERIFIED,
}
# What of the audit event's details an event carries (never a note, a reason or anything a person wrote).
CARRIED_DETAILS = ("outcome", "source")
CLAIM_LEASE = timedelta(minutes=5)


# ---------------------------------------------------------------------------------------------
# Endpoints


def check_url(url: str) -> str:
    """An endpoint URL the portal may post to: https (http too outside production), a host name that
    resolves only to public addresses (unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES): no requests forged
    against the portal's own network."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port, host = parts.port, parts.hostname
    except ValueError:  # a bracketed host that is no IP address, a port that is no number
        raise Refused(
            "This is not a valid web address: check the host name and the port, e.g. https://crm.example.org/hooks.",
            field="url",
        ) from None
    if port == 0:
        raise Refused("The address has an invalid port number.", field="url")
    if parts.scheme != "https" and not (parts.scheme == "http" and current_app.config["ENV_NAME"] != "production"):
        raise Refused("The address must start with https://.", field="url")
    if not host or parts.username or parts.password:
        raise Refused("Give a full address with a host name, e.g. https://crm.example.org/hooks.", field="url")
    if not is_host_name(host, bracketed="[" in parts.netloc):
        raise Refused(f"“{host}” is not a valid host name.", field="url")
    if not current_app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"]:
        try:
            resolve(host, port or DEFAULT_PORTS[parts.scheme], allow_private=False)
        except AddressRefused as refused:
            raise Refused(str(refused), field="url") from None
    return url


def register_endpoint(*, url: str, actor: User) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (shown to the administrator once)."""
    url = check_url(url)
    if db.session.scalar(
        sa.select(WebhookEndpoint.id).where(WebhookEndpoint.url == url, WebhookEndpoint.deleted_at.is_(None))
    ):
        raise Refused("This address is registered already.", field="url")
    secret = secrets.token_hex(32)
    endpoint = WebhookEndpoint(url=url, secret=secret, created_by_id=actor.id)
    db.session.add(endpoint)
    db.session.flush()
    record(AuditAction.WEBHOOK_REGISTERED, obj=endpoint, actor=actor, url=url)
    return endpoint, secret


def enable(*, endpoint: WebhookEndpoint, actor: User) -> None:
    if endpoint.disabled_at is None:
        raise Refused("This endpoint is enabled already.")
    endpoint.disabled_at = None
    endpoint.consecutive_failures = 0
    record(AuditAction.WEBHOOK_ENABLED, obj=endpoint, actor=actor)


def delete(*, endpoint: WebhookEndpoint, actor: User) -> None:
    endpoint.deleted_at = utcnow()
    db.session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == DeliveryStatus.QUEUED)
        .values(status=DeliveryStatus.FAILED, last_error="the endpoint was deleted")
    )
    record(AuditAction.WEBHOOK_DELETED, obj=endpoint, actor=actor, url=endpoint.url)


def endpoints() -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(
            sa.select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None)).order_by(WebhookEndpoint.id)
        )
    )


def deliveries_of(endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    return list(
        db.session.scalars(
            sa.select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


# ---------------------------------------------------------------------------------------------
# Events


def event_payload(event: AuditEvent, event_id: str, event_type: str) -> dict[str, Any]:
    data: dict[str, Any] = {"application_id": application_of(event)}
    if event.object_type == "reference":
        data["reference_id"] = event.object_id
    data.update({k: v for k, v in (event.details or {}).items() if k in CARRIED_DETAILS})
    return {"id": event_id, "type": event_type, "occurred_at": utcnow().isoformat(), "data": data}


def queue_deliveries(sender: object, *, event: AuditEvent) -> None:
    """Subscribed to audit.services.recorded (in create_app): the event's deliveries, in its transaction."""
    event_type = EVENTS.get(AuditAction(event.action)) if event.action in AuditAction else None
    if event_type is None:
        return
    active = db.session.scalars(
        sa.select(WebhookEndpoint.id).where(WebhookEndpoint.deleted_at.is_(None), WebhookEndpoint.disabled_at.is_(None))
    ).all()
    if not active:
        return
    event_id = str(uuid.uuid4())
    payload = event_payload(event, event_id, event_type)
    for endpoint_id in active:
        db.session.add(
            WebhookDelivery(endpoint_id=endpoint_id, event_id=event_id, event_type=event_type, payload=payload)
        )


# ---------------------------------------------------------------------------------------------
# Delivery (the worker)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class WebhookReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


def deliver_webhooks(*, limit: int = 50, should_stop: Callable[[], bool] = lambda: False) -> WebhookReport:
    """Post the due deliveries (each claimed by one worker, refportal.claims) and record each answer."""
    now = utcnow()
    claimed = claims.claim_due(
        WebhookDelivery,
        due=sa.and_(WebhookDelivery.status == DeliveryStatus.QUEUED, WebhookDelivery.next_attempt_at <= now),
        claim={"next_attempt_at": now + CLAIM_LEASE},
        limit=limit,
        joins=[(WebhookEndpoint, WebhookDelivery.endpoint_id == WebhookEndpoint.id)],
        eligible=[WebhookEndpoint.disabled_at.is_(None), WebhookEndpoint.deleted_at.is_(None)],
    )
    report = WebhookReport()
    for delivery in claimed:
        if should_stop():
            break
        report.claimed += 1
        with unit_of_work():  # each answer recorded on its own
            _attempt(delivery, report)
    return report


def _attempt(delivery: WebhookDelivery, report: WebhookReport) -> None:
    endpoint = delivery.endpoint
    cfg = current_app.config
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    status: int | None = None
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "refportal-webhooks",
        "Refportal-Event": delivery.event_type,
        "Refportal-Event-Id": delivery.event_id,
        "Refportal-Signature": signature(endpoint.secret, timestamp, body),
    }
    try:
        status, error = post(
            endpoint.url,
            body,
            headers,
            timeout=cfg["WEBHOOK_TIMEOUT_SECONDS"],
            allow_private=cfg["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"],
        )
    except AddressRefused as refused:
        error = str(refused)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # Includes an answer that is not HTTP at all (BadStatusLine, LineTooLong, IncompleteRead) and TLS
        # failures (a certificate for another name).
        error = f"{type(exc).__name__}: {exc}"
    now = utcnow()
    delivery.attempts += 1
    delivery.last_status = status
    endpoint.last_status, endpoint.last_response, endpoint.last_attempt_at = status, (error or "")[:500], now
    if status is not None and 200 <= status < 300:
        delivery.status, delivery.delivered_at, delivery.last_error = DeliveryStatus.SENT, now, None
        endpoint.consecutive_failures = 0
        report.sent += 1
        return
    delivery.last_error = (f"HTTP {status}: " if status else "") + (error or "no answer")[:400]
    endpoint.consecutive_failures += 1
    if delivery.attempts >= cfg["WEBHOOK_MAX_ATTEMPTS"]:
        delivery.status = DeliveryStatus.FAILED
        report.failed += 1
    else:
        delivery.next_attempt_at = now + claims.backoff(
            attempts=delivery.attempts, base_seconds=cfg["WEBHOOK_RETRY_BASE_SECONDS"]
        )
        report.retried += 1
    if endpoint.consecutive_failures >= cfg["WEBHOOK_DISABLE_AFTER"] and endpoint.disabled_at is None:
        _disable(endpoint)


def _disable(endpoint: WebhookEndpoint) -> None:
    endpoint.disabled_at = utcnow()
    record(AuditAction.WEBHOOK_DISABLED, obj=endpoint, failures=endpoint.consecutive_failures, url=endpoint.url)
    log.warning("webhook endpoint %s disabled after %s failures", endpoint.id, endpoint.consecutive_failures)
    for admin in db.session.scalars(sa.select(User).where(User.role == Role.ADMIN, User.deactivated_at.is_(None))):
        queue_email(
            "webhook_disabled",
            admin.email,
            name=admin.name,
            endpoint=endpoint,
            link=external_url("api_admin.endpoint", endpoint_id=endpoint.id),
        )
