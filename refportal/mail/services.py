"""queue_email(): render a message into the outbox inside the caller's transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from blinker import Namespace
from flask import current_app, render_template

from refportal.db import utcnow
from refportal.extensions import db
from refportal.mail.addresses import unsendable_reason
from refportal.mail.models import OutboxEmail, OutboxStatus
from refportal.mail.wire import wire_bytes

signals = Namespace()
# Sent with the OutboxEmail when a server refuses it for good (5xx): the references slice marks
# the reference bounced and tells the applicant.
email_failed = signals.signal("email-failed")


def message_failed_for_good(email: OutboxEmail) -> None:
    """The one place for "this message will never arrive", whether the SMTP server refused it (5xx)
    or a delivery report said so later (the reason is on the row: bounce_reason, else last_error):
    tell the slice it is about (a referee's reference is bounced and the applicant told once; the
    receivers are idempotent)."""
    email_failed.send(current_app._get_current_object(), email=email)  # type: ignore[attr-defined]  # the app itself


class HeaderInjection(ValueError):
    """A value meant for a mail header contains a line break."""


def check_header_value(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise HeaderInjection("line breaks are not allowed in e-mail headers")
    return value


def sent_recently(template: str, to: str) -> int:
    """How many `template` messages were queued to `to` in the last hour (to cap account e-mails)."""
    since = utcnow() - timedelta(hours=1)
    return (
        db.session.scalar(
            sa.select(sa.func.count(OutboxEmail.id)).where(
                OutboxEmail.template == template, OutboxEmail.to_address == to, OutboxEmail.created_at >= since
            )
        )
        or 0
    )


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link for e-mail, built on PORTAL_BASE_URL, never on the request's Host header."""
    adapter = current_app.url_map.bind("refportal.invalid")
    path = adapter.build(endpoint, values)
    return current_app.config["PORTAL_BASE_URL"] + path


def queue_email(template: str, to: str, *, related: Any = None, **context: Any) -> OutboxEmail:
    """Render templates/email/<template>/{subject.txt,body.txt,body.html} into an outbox row.

    `related` (a model with an id) is recorded so a bounce can be traced back to it.
    """
    context.setdefault("portal_name", current_app.config["PORTAL_NAME"])
    context.setdefault("association_name", current_app.config["ASSOCIATION_NAME"])
    context.setdefault("association_email", current_app.config["ASSOCIATION_EMAIL"])
    subject = " ".join(render_template(f"email/{template}/subject.txt", **context).split())
    email = OutboxEmail(
        template=template,
        to_address=check_header_value(to),
        subject=check_header_value(subject)[:255],
        body_text=render_template(f"email/{template}/body.txt", **context),
        body_html=render_template(f"email/{template}/body.html", **context),
        related_type=related.__tablename__ if related is not None else None,
        related_id=related.id if related is not None else None,
    )
    db.session.add(email)
    db.session.flush()  # the id is in the Message-ID
    problem = unsendable_reason(to)
    if problem is None:
        email.wire_message = wire_bytes(email)
    else:
        # An address kept from before the address policy: this message fails on its own (the slice it
        # is about hears of it, as of a bounce), and the change that queued it goes on.
        email.status, email.last_error = OutboxStatus.FAILED, problem[:500]
        message_failed_for_good(email)
    return email
