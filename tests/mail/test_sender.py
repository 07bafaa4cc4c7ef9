"""`flask mail send` against a real SMTP server on loopback."""

from __future__ import annotations

from datetime import timedelta
from email.utils import parseaddr

import sqlalchemy as sa

from refportal.db import utcnow
from refportal.extensions import db
from refportal.mail.models import OutboxEmail, OutboxStatus
from refportal.mail.sender import deliver_due
from refportal.mail.services import email_failed, queue_email
from refportal.mail.wire import message_id
from tests.mail.helpers import queue, rows


def test_send_without_a_mail_server_keeps_messages_in_the_outbox(app, runner):
    queue(app, "a@example.org")
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code != 0 and "MAIL_SERVER is not set" in result.output
    assert [r.status for r in rows(app)] == [OutboxStatus.QUEUED]


def test_send_delivers_every_due_message_over_one_connection(smtp_app, smtp_server):
    addresses = [f"r{i}@example.org" for i in range(5)]
    queue(smtp_app, *addresses)
    result = smtp_app.test_cli_runner().invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "sent 5, retry later 0, failed 0" in result.output
    assert sorted(d.rcpt_tos[0] for d in smtp_server.delivered) == addresses
    assert len({d.peer for d in smtp_server.delivered}) == 1  # one SMTP connection
    assert all(r.status is OutboxStatus.SENT and r.sent_at for r in rows(smtp_app))
    # Nothing is sent twice.
    smtp_app.test_cli_runner().invoke(args=["mail", "send"])
    assert len(smtp_server.delivered) == 5


def test_messages_carry_both_parts_and_portal_headers(smtp_app, smtp_server):
    queue(smtp_app, "a@example.org")
    with smtp_app.app_context():
        deliver_due()
    [delivered] = smtp_server.delivered
    message = delivered.message
    row = rows(smtp_app)[0]
    with smtp_app.app_context():
        assert message["Message-ID"] == message_id(row.id)
    assert message["Reply-To"] == "endorsement@example.org"
    assert message["Subject"] == row.subject
    types = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html"} <= types


def test_the_message_is_built_when_queued_and_sent_as_stored(smtp_app, smtp_server):
    """The outbox keeps the message as it goes on the wire; the sender sends exactly those bytes."""
    with smtp_app.app_context():
        row = queue_email(
            "verify_email",
            "a@example.org",
            name="María José Ñúñez — " * 4,
            link="https://portal.example.test/verify-email/x",
            valid_hours=1,
        )
        row.subject = "Referencia para María José Ñúñez — solicitud de calificación profesional para el respaldo"
        from refportal.mail.wire import wire_bytes

        row.wire_message = wire_bytes(row)
        db.session.commit()
        deliver_due()
    [delivered] = smtp_server.delivered
    stored = rows(smtp_app)[0]
    assert delivered.raw.rstrip(b"\r\n") == stored.wire_message.rstrip(b"\r\n")
    message = delivered.message
    assert message["Subject"] == stored.subject  # encoded words, decoded without a stray space
    with smtp_app.app_context():
        assert message["Message-ID"] == message_id(stored.id)
    assert "María José Ñúñez" in message.get_body(("plain",)).get_content()


def test_a_message_queued_without_its_wire_bytes_is_built_when_sent(smtp_app, smtp_server):
    """Rows queued before the outbox stored the message (wire_message NULL) still go out whole."""
    queue(smtp_app, "a@example.org")
    with smtp_app.app_context():
        db.session.execute(sa.update(OutboxEmail).values(wire_message=None))
        db.session.commit()
        deliver_due()
    [delivered] = smtp_server.delivered
    row = rows(smtp_app)[0]
    assert row.status is OutboxStatus.SENT and row.attempts == 1
    with smtp_app.app_context():
        assert delivered.message["Message-ID"] == message_id(row.id)
    assert delivered.message["Subject"] == row.subject


def test_an_internationalised_domain_goes_on_the_envelope_in_its_ascii_form(smtp_app, smtp_server):
    """The policy keeps an address whose domain is not ASCII (stored as typed); the sender writes the
    domain's IDNA 2008 form in RCPT TO, as any server reads it without SMTPUTF8, and the batch goes on."""
    queue(smtp_app, "rae@exámple.org", "kai@faß.de", "a@example.org")
    with smtp_app.app_context():
        report = deliver_due()
    assert (report.sent, report.failed, report.retried) == (3, 0, 0)
    assert [d.rcpt_tos for d in smtp_server.delivered] == [
        ["rae@xn--exmple-qta.org"],
        ["kai@xn--fa-hia.de"],
        ["a@example.org"],
    ]
    assert [r.to_address for r in rows(smtp_app)] == ["rae@exámple.org", "kai@faß.de", "a@example.org"]


def test_a_permanent_refusal_marks_the_message_failed_and_says_so(smtp_app, smtp_server):
    smtp_server.handler.rcpt_replies["gone@example.org"] = "550 5.1.1 no such user"
    queue(smtp_app, "gone@example.org", "fine@example.org")
    failed = []

    def on_failed(sender, email):
        failed.append(email.to_address)

    email_failed.connect(on_failed)
    try:
        with smtp_app.app_context():
            report = deliver_due()
    finally:
        email_failed.disconnect(on_failed)
    assert (report.sent, report.failed, report.retried) == (1, 1, 0)
    gone, fine = rows(smtp_app)
    assert gone.status is OutboxStatus.FAILED and gone.last_error.startswith("550")
    assert fine.status is OutboxStatus.SENT
    assert failed == ["gone@example.org"]
    with smtp_app.app_context():
        assert deliver_due(now=utcnow() + timedelta(days=1)).claimed == 0  # never retried


def test_a_temporary_refusal_is_retried_later(smtp_app, smtp_server):
    smtp_server.handler.data_reply = "451 4.3.0 try again later"
    queue(smtp_app, "a@example.org")
    with smtp_app.app_context():
        report = deliver_due()
    assert report.retried == 1
    [row] = rows(smtp_app)
    assert row.status is OutboxStatus.QUEUED and row.attempts == 1 and row.next_attempt_at > utcnow()
    with smtp_app.app_context():
        assert deliver_due().claimed == 0  # not due yet
    smtp_server.handler.data_reply = None
    with smtp_app.app_context():
        assert deliver_due(now=utcnow() + timedelta(minutes=2)).sent == 1
    assert [d.rcpt_tos for d in smtp_server.delivered] == [["a@example.org"]]


def test_server_down_then_back_loses_nothing(make_app, smtp_server):
    from tests.smtp import free_port

    down = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT_SECONDS=2)
    queue(down, "a@example.org", "b@example.org")
    with down.app_context():
        report = deliver_due()
    assert report.retried == 2 and report.sent == 0
    assert all(r.status is OutboxStatus.QUEUED for r in rows(down))
    down.config["MAIL_PORT"] = smtp_server.port
    with down.app_context():
        assert deliver_due(now=utcnow() + timedelta(minutes=5)).sent == 2
    assert sorted(d.rcpt_tos[0] for d in smtp_server.delivered) == ["a@example.org", "b@example.org"]


def test_a_message_out_of_attempts_is_failed(smtp_app, smtp_server):
    smtp_app.config["MAIL_MAX_ATTEMPTS"] = 2
    smtp_server.handler.data_reply = "451 4.3.0 busy"
    queue(smtp_app, "a@example.org")
    with smtp_app.app_context():
        deliver_due()
        deliver_due(now=utcnow() + timedelta(hours=1))
    [row] = rows(smtp_app)
    assert row.status is OutboxStatus.FAILED and row.attempts == 2


def test_the_envelope_is_what_smtplib_sendmail_would_write(smtp_app, smtp_server):
    """The sender writes MAIL FROM / RCPT TO itself (not through sendmail(), which parses both addresses
    again for every message): the same addresses, and SIZE as sendmail() gives it to a server offering it."""
    queue(smtp_app, "a@example.org", "b.c+d@example.org")
    with smtp_app.app_context():
        assert deliver_due().sent == 2
    first, second = smtp_server.delivered
    assert (first.mail_from, first.rcpt_tos, second.rcpt_tos) == (
        parseaddr(smtp_app.config["MAIL_DEFAULT_SENDER"])[1],
        ["a@example.org"],
        ["b.c+d@example.org"],
    )
    for delivered, row in zip(smtp_server.delivered, rows(smtp_app), strict=True):
        assert delivered.mail_options == [f"SIZE={len(row.wire_message)}"]


def test_a_refused_envelope_sender_fails_or_retries_that_message_and_the_batch_goes_on(make_app, smtp_server):
    """MAIL FROM refused: 5xx fails the message for good, 4xx retries it; the transaction is reset (RSET)
    and the next message of the batch goes out on the same connection."""
    app = make_app(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, BOUNCE_ADDRESS="bounces@example.org"
    )  # each message its own envelope sender (VERP)
    queue(app, "a@example.org", "b@example.org", "c@example.org")
    with app.app_context():
        from refportal.mail.verp import envelope_sender

        senders = [envelope_sender(row.id) for row in rows(app)]
    smtp_server.handler.mail_replies = {senders[0]: "550 5.7.1 sender refused", senders[1]: "451 4.7.1 try later"}
    with app.app_context():
        report = deliver_due()
    assert (report.sent, report.failed, report.retried) == (1, 1, 1)
    a, b, c = rows(app)
    assert a.status is OutboxStatus.FAILED and a.last_error.startswith("550 5.7.1")
    assert b.status is OutboxStatus.QUEUED and b.attempts == 1 and b.last_error.startswith("451")
    assert c.status is OutboxStatus.SENT
    assert [(d.mail_from, d.rcpt_tos) for d in smtp_server.delivered] == [(senders[2], ["c@example.org"])]
