"""An outbox row as it goes on the wire: built once, when the message is queued.

Flask-Mail builds the MIME message; the compat32 generator writes it out with CRLF line ends.
(Flask-Mail's own as_bytes() re-parses every header through the modern email policy, which costs
more than the SMTP exchange itself.) The sender then only claims, sends these bytes and marks."""

from __future__ import annotations

import email.policy
from email.header import Header

from flask import current_app
from flask_mail import Message

from refportal.mail import signatures
from refportal.mail.models import OutboxEmail

WIRE_POLICY = email.policy.compat32.clone(linesep="\r\n")


def build_message(row: OutboxEmail) -> Message:
    cfg = current_app.config
    message = Message(
        subject=row.subject,
        recipients=[row.to_address],
        body=row.body_text,
        html=row.body_html,
        sender=cfg["MAIL_DEFAULT_SENDER"],
        reply_to=cfg["ASSOCIATION_EMAIL"],
    )
    message.msgId = message_id(row.id)
    return message


def message_id(outbox_id: int) -> str:
    """`<outbox-<id>.<signature>@<portal host>>`: derived from the row, so it is the same every time the
    row's message is built, and signed (refportal.mail.signatures), so that nobody can name a message
    of ours in a forged delivery report by counting ids."""
    return f"<outbox-{outbox_id}.{signatures.sign(signatures.MESSAGE_ID, outbox_id)}@{message_id_domain()}>"


def message_id_domain() -> str:
    return (
        current_app.config["PORTAL_BASE_URL"].split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0]
        or "refportal.invalid"
    )


def wire_bytes(row: OutboxEmail) -> bytes:
    """The message as sent: built by Flask-Mail, written out by the compat32 generator."""
    message = build_message(row)._message()
    message.policy = WIRE_POLICY
    if not row.subject.isascii():  # encoded words folded after "Subject: ", not on a line of their own
        # compat32 folds a Header object itself (typeshed only knows str values)
        message.replace_header("Subject", Header(row.subject, "utf-8", header_name="Subject"))  # type: ignore[arg-type]
    return message.as_bytes()
