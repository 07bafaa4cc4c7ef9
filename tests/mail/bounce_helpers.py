"""Shared pieces of the bounce tests: the corpus, the report builder, the two intakes, the state a
report may change."""

from __future__ import annotations

import string
from pathlib import Path

import sqlalchemy as sa

from refportal.audit.models import AuditEvent
from refportal.extensions import db
from refportal.mail.bounces import IGNORE, PERMANENT, TRANSIENT
from refportal.mail.models import OutboxEmail
from refportal.mail.verp import bounce_address
from refportal.mail.wire import message_id as wire_message_id
from tests.references.helpers import references

CORPUS = Path(__file__).parent / "bounce_corpus"
BOUNCE_BASE = "bounces@refs.example.org"
SECRET = "webhook-secret-for-the-tests"
PORTAL_FROM = "refportal <no-reply@refportal.invalid>"
REFEREE = "rae@example.net"
EXPECTED = {
    "postfix_permanent": PERMANENT,
    "postfix_delayed": TRANSIENT,
    "exim_permanent": PERMANENT,
    "exim_delayed": TRANSIENT,
    "exchange_permanent": PERMANENT,
    "exchange_delayed": TRANSIENT,
    "gmail_permanent": PERMANENT,
    "gmail_delayed": TRANSIENT,
    "ses_permanent": PERMANENT,
    "out_of_office": IGNORE,
}


def row_for(app, to: str) -> OutboxEmail:
    with app.app_context():
        row = db.session.scalars(
            sa.select(OutboxEmail).where(OutboxEmail.to_address == to).order_by(OutboxEmail.id)
        ).first()
        db.session.expunge(row)
        return row


def report_about(
    app,
    name: str,
    *,
    to_verp: bool = True,
    recipient: str = REFEREE,
    row_id: int | None = None,
    report_to: str | None = None,
) -> bytes:
    """A corpus report about the request sent to `recipient`, as the relay would deliver it."""
    row = row_for(app, recipient)
    row_id = row_id or row.id
    with app.app_context():
        verp = bounce_address(row_id)
        message_id = wire_message_id(row_id)
    envelope = verp if to_verp else BOUNCE_BASE
    text = string.Template((CORPUS / f"{name}.eml").read_text()).substitute(
        report_to=report_to or envelope,
        recipient=recipient,
        message_id=message_id,
        original_from=PORTAL_FROM,
        return_path=envelope,
    )
    return text.replace("\n", "\r\n").encode()


def hand_made_report(
    *,
    to: str = BOUNCE_BASE,
    recipients: tuple[str, ...] = (REFEREE,),
    message_ids: tuple[str, ...] = (),
    return_path: str = "",
    diagnostic: str = "smtp; 550 5.1.1 user unknown",
    status: str = "5.1.1",
) -> bytes:
    """An RFC 3464 report as anyone can write one: to `to`, naming `recipients` as failed, returning
    headers with `message_ids` (a report naming several messages puts them all there)."""
    blocks = "".join(
        f"Final-Recipient: rfc822; {r}\r\nAction: {'failed' if status.startswith('5') else 'delayed'}\r\n"
        f"Status: {status}\r\nDiagnostic-Code: {diagnostic}\r\n\r\n"
        for r in recipients
    )
    returned = "".join(f"Message-ID: {m}\r\n" for m in message_ids)
    if return_path:
        returned = f"Return-Path: <{return_path}>\r\n" + returned
    text = (
        "From: MAILER-DAEMON@mx.example.net\r\n"
        f"To: {to}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        f"{blocks}"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{returned}Subject: A reference request\r\nTo: {recipients[0] if recipients else REFEREE}\r\n"
        "--b--\r\n"
    )
    return text.encode()


def post_report(app, raw: bytes, *, secret: str = SECRET, content_type: str = "message/rfc822"):
    return app.test_client().post(
        "/hooks/bounces", data=raw, content_type=content_type, headers={"Authorization": f"Bearer {secret}"}
    )


def deliver(app, imap_server, raw: bytes, via: str):
    if via == "webhook":
        response = post_report(app, raw)
        assert response.status_code == 202, response.get_data(as_text=True)
        assert "Set-Cookie" not in response.headers
        return response.get_json()
    imap_server.append(raw)
    with app.app_context():
        from refportal.mail.imap import poll_bounce_mailbox

        report = poll_bounce_mailbox()
    assert report.fetched == 1 and report.errors == 0
    return report


def state(app):
    """What a report may change: reference statuses, the row's report fields, notices, audit events."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(
                OutboxEmail.to_address,
                OutboxEmail.status,
                OutboxEmail.bounced_at,
                OutboxEmail.bounce_reason,
                OutboxEmail.delayed_at,
                OutboxEmail.delay_reason,
            ).order_by(OutboxEmail.id)
        ).all()
        notices = db.session.scalar(
            sa.select(sa.func.count(OutboxEmail.id)).where(OutboxEmail.template == "reference_bounced")
        )
        events = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    return {
        "references": {r.email: r.status for r in references(app)},
        "rows": [tuple(r) for r in rows],
        "notices": notices,
        "events": list(events),
    }
