"""Webhooks: each audited event the association's systems care about becomes one delivery row per
active endpoint, in the transaction of the change (like the mail outbox); the worker posts them,
signed, with retries and backoff, and disables an endpoint after WEBHOOK_DISABLE_AFTER failures in a
row (administrators are told).

Signature: header `Refportal-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the
endpoint's secret>`; `Refportal-Event-Id` is the same for every endpoint told of one event (for
de-duplication), `Refportal-Event` names the event type."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import Role, User
from refportal.api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from refportal.audit.models import AuditEvent
from refportal.audit.services import record, recorded
from refportal.db import rows_changed, utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.mail.services import external_url, queue_email

log = logging.getLogger("refportal.webhooks")

# Audited action -> the event the association's systems are told of.
EVENTS = {
    "reference.submitted": "reference.submitted",
    "reference.reuse_confirmed": "reference.submitted",
    "reference.declined": "reference.declined",
    "reference.bounced": "reference.bounced",
    "application.submitted": "application.submitted",
    "application.decided": "decision.recorded",
    "membership.verified": "membership.verified",
}
# What of the audit event's details an event carries (never a note, a reason or anything a person wrote).
CARRIED_DETAILS = ("outcome", "source")
MAX_BACKOFF = timedelta(hours=6)
CLAIM_LEASE = timedelta(minutes=5)


# ---------------------------------------------------------------------------------------------
# Endpoints


def check_url(url: str) -> str:
    """An endpoint URL the portal may post to: https (http too outside production), a host name that
    resolves only to public addresses (unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES): no requests forged
    against the portal's own network."""
    url = url.strip()
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise Refused("The address has an invalid port number.", field="url") from None
    if parts.scheme != "https" and not (parts.scheme == "http" and current_app.config["ENV_NAME"] != "production"):
        raise Refused("The address must start with https://.", field="url")
    if not parts.hostname or parts.username or parts.password:
        raise Refused("Give a full address with a host name, e.g. https://crm.example.org/hooks.", field="url")
    if not current_app.config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"]:
        problem = private_address_problem(parts.hostname, port or (443 if parts.scheme == "https" else 80))
        if problem:
            raise Refused(problem, field="url")
    return url


def private_address_problem(host: str, port: int) -> str | None:
    """Why the portal will not post to `host` (None: it may)."""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return f"{host} cannot be resolved."
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global:
            return f"{host} resolves to {ip}, a loopback, private or reserved address: the portal does not post there."
    return None


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
    record("webhook.registered", obj=endpoint, actor=actor, url=url)
    return endpoint, secret


def enable(*, endpoint: WebhookEndpoint, actor: User) -> None:
    if endpoint.disabled_at is None:
        raise Refused("This endpoint is enabled already.")
    endpoint.disabled_at = None
    endpoint.consecutive_failures = 0
    record("webhook.enabled", obj=endpoint, actor=actor)


def delete(*, endpoint: WebhookEndpoint, actor: User) -> None:
    endpoint.deleted_at = utcnow()
    db.session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == DeliveryStatus.QUEUED)
        .values(status=DeliveryStatus.FAILED, last_error="the endpoint was deleted")
    )
    record("webhook.deleted", obj=endpoint, actor=actor, url=endpoint.url)


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
    from refportal.applications.changes import application_of

    data: dict[str, Any] = {"application_id": application_of(event)}
    if event.object_type == "reference":
        data["reference_id"] = event.object_id
    data.update({k: v for k, v in (event.details or {}).items() if k in CARRIED_DETAILS})
    return {"id": event_id, "type": event_type, "occurred_at": utcnow().isoformat(), "data": data}


@recorded.connect
def _queue_deliveries(event: AuditEvent) -> None:
    event_type = EVENTS.get(event.action)
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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # a redirect is an answer, not followed
        return None


OPENER = urllib.request.build_opener(_NoRedirects)


@dataclass
class WebhookReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


def _claim(now: Any, limit: int) -> list[int]:
    due = db.session.scalars(
        sa.select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookDelivery.endpoint_id == WebhookEndpoint.id)
        .where(
            WebhookDelivery.status == DeliveryStatus.QUEUED,
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.disabled_at.is_(None),
            WebhookEndpoint.deleted_at.is_(None),
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    ).all()
    claimed = [
        delivery_id
        for delivery_id in due
        if rows_changed(
            db.session,
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.next_attempt_at <= now)
            .values(next_attempt_at=now + CLAIM_LEASE),
        )
        == 1
    ]
    db.session.commit()
    return claimed


def deliver_webhooks(*, limit: int = 50, should_stop: Callable[[], bool] = lambda: False) -> WebhookReport:
    """Post the due deliveries (each claimed by one worker) and record each answer."""
    report = WebhookReport()
    for delivery_id in _claim(utcnow(), limit):
        if should_stop():
            break
        delivery = db.session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            continue
        report.claimed += 1
        _attempt(delivery, report)
        db.session.commit()
    return report


def _attempt(delivery: WebhookDelivery, report: WebhookReport) -> None:
    endpoint = delivery.endpoint
    cfg = current_app.config
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    status, error = None, None
    parts = urlsplit(endpoint.url)
    blocked = (
        None
        if cfg["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"]
        else private_address_problem(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    )
    if blocked:
        error = blocked
    else:
        request = urllib.request.Request(
            endpoint.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "refportal-webhooks",
                "Refportal-Event": delivery.event_type,
                "Refportal-Event-Id": delivery.event_id,
                "Refportal-Signature": signature(endpoint.secret, timestamp, body),
            },
        )
        try:
            with OPENER.open(request, timeout=cfg["WEBHOOK_TIMEOUT_SECONDS"]) as response:
                status = response.status
                error = response.read(300).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            status, error = exc.code, exc.read(300).decode("utf-8", "replace") if exc.fp else exc.reason
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            # Includes an answer that is not HTTP at all (BadStatusLine, LineTooLong, IncompleteRead).
            error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
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
        backoff = timedelta(seconds=cfg["WEBHOOK_RETRY_BASE_SECONDS"] * 2 ** (delivery.attempts - 1))
        delivery.next_attempt_at = now + min(backoff, MAX_BACKOFF)
        report.retried += 1
    if endpoint.consecutive_failures >= cfg["WEBHOOK_DISABLE_AFTER"] and endpoint.disabled_at is None:
        _disable(endpoint)


def _disable(endpoint: WebhookEndpoint) -> None:
    endpoint.disabled_at = utcnow()
    record("webhook.disabled", obj=endpoint, failures=endpoint.consecutive_failures, url=endpoint.url)
    log.warning("webhook endpoint %s disabled after %s failures", endpoint.id, endpoint.consecutive_failures)
    for admin in db.session.scalars(sa.select(User).where(User.role == Role.ADMIN, User.deactivated_at.is_(None))):
        queue_email(
            "webhook_disabled",
            admin.email,
            name=admin.name,
            endpoint=endpoint,
            link=external_url("api_admin.endpoint", endpoint_id=endpoint.id),
        )
