"""The two ways reports come in: POST /hooks/bounces (bearer secret, JSON, never a 500) and the IMAP
mailbox (real dovecot: each message read once, flagged or moved), and the `mail bounces` command."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from refportal.extensions import db
from refportal.mail.bounces import IGNORE, read_bounce_report
from refportal.mail.imap import HANDLED, IGNORED
from refportal.mail.models import OutboxEmail
from refportal.references.models import ReferenceStatus
from tests.mail.bounce_helpers import BOUNCE_BASE, REFEREE, SECRET, post_report, report_about, row_for, state

GARBAGE = {
    "binary": bytes(range(256)) * 4,
    "non-utf8 headers": b"From: \xff\xfe\xc3(@example.net\r\nSubject: \xe9t\xe9 \x80\r\nTo: "
    + BOUNCE_BASE.encode()
    + b'\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="x"\r\n\r\n'
    b"--x\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; \xff@\xfe\r\n"
    b"Action: failed\r\nStatus: 5.1.1\r\n\r\n--x--\r\n",
    "broken boundaries": b"From: MAILER-DAEMON@example.net\r\nSubject: Undelivered\r\nContent-Type: multipart/report;"
    b' boundary="never-closed"\r\n\r\n--never-closed\r\n'
    b"Content-Type: message/delivery-status\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n--never",
    "message/rfc822 without a message": b"From: MAILER-DAEMON@example.net\r\nContent-Type: multipart/mixed; "
    b"boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n--b--\r\n",
    "headers only": b"Subject: hello\r\n",
    "a huge header": b"Subject: " + b"x" * 200_000 + b"\r\n\r\nbody",
    "an unknown outbox id": b"From: MAILER-DAEMON@example.net\r\nTo: bounces+99999-"
    + b"0" * 20
    + b"@refs.example.org\r\nX-Failed-Recipients: a@example.net\r\n\r\n"
    b"Message-ID: <outbox-99999@portal.example.test>\r\n",
}


# ------------------------------------------------------------------------------------------------
# Webhook


def test_the_webhook_does_not_exist_without_a_secret(make_app):
    app = make_app()
    response = app.test_client().post(
        "/hooks/bounces",
        data=b"Subject: x\r\n\r\n",
        content_type="message/rfc822",
        headers={"Authorization": "Bearer "},
    )
    assert response.status_code == 404 and response.is_json


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-secret", f"Basic {SECRET}", f"Bearer {SECRET}x", f"Bearer {SECRET[:-1]}"],
)
def test_the_webhook_wants_the_secret(make_app, authorization):
    app = make_app(BOUNCE_WEBHOOK_SECRET=SECRET)
    headers = {} if authorization is None else {"Authorization": authorization}
    response = app.test_client().post(
        "/hooks/bounces", data=b"Subject: x\r\n\r\n", content_type="message/rfc822", headers=headers
    )
    assert response.status_code == 401 and response.is_json
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("body", [b"", b"   \r\n\r\n", b"\r\n\r\njust a body, no headers"])
def test_a_body_that_is_not_a_message_is_400(make_app, body):
    app = make_app(BOUNCE_WEBHOOK_SECRET=SECRET)
    response = post_report(app, body)
    assert response.status_code == 400 and response.is_json


def test_a_report_over_the_size_limit_is_413(make_app):
    app = make_app(BOUNCE_WEBHOOK_SECRET=SECRET, MAX_CONTENT_LENGTH=10_000)
    response = post_report(app, b"Subject: big\r\n\r\n" + b"x" * 20_000)
    assert response.status_code == 413 and response.is_json


@pytest.mark.parametrize("content_type", ["message/rfc822", "text/plain", "application/octet-stream"])
def test_the_webhook_takes_the_report_as_any_of_the_raw_types(sent_world, content_type):
    app, _, _ = sent_world
    response = post_report(app, report_about(app, "postfix_permanent"), content_type=content_type)
    assert response.status_code == 202
    assert response.get_json() == {"outcome": "permanent", "outbox_id": row_for(app, REFEREE).id}
    assert state(app)["references"][REFEREE] == ReferenceStatus.BOUNCED


def test_the_webhook_needs_no_csrf_token_and_sets_no_cookie(sent_world):
    app, _, _ = sent_world
    client = app.test_client()
    response = client.post(
        "/hooks/bounces",
        data=report_about(app, "exim_permanent"),
        headers={"Authorization": f"Bearer {SECRET}", "Content-Type": "message/rfc822"},
    )
    assert response.status_code == 202
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_is_accepted_and_ignored_never_an_error(sent_world, name):
    app, _, _ = sent_world
    before = state(app)
    with app.app_context():
        assert read_bounce_report(GARBAGE[name]).kind == IGNORE
    response = post_report(app, GARBAGE[name], content_type="application/octet-stream")
    assert response.status_code in (202, 400), response.status_code
    assert state(app) == before


def test_the_webhook_is_rate_limited(make_app):
    app = make_app(BOUNCE_WEBHOOK_SECRET=SECRET, RATELIMIT_ENABLED=True, BOUNCE_WEBHOOK_LIMIT="3 per minute")
    codes = [post_report(app, b"Subject: hello\r\n\r\nhi").status_code for _ in range(5)]
    assert codes == [202, 202, 202, 429, 429]


# ------------------------------------------------------------------------------------------------
# IMAP


def flags_of(imap_server, folder="INBOX"):
    return imap_server.flags(folder)


def test_a_poll_reads_each_message_once_and_flags_it(sent_world):
    app, _, imap_server = sent_world
    imap_server.append(report_about(app, "postfix_permanent"))
    imap_server.append(report_about(app, "out_of_office"))
    imap_server.append(b"Subject: \xff\xfe not a report\r\n\r\n\x00\x01")
    from refportal.mail.imap import poll_bounce_mailbox

    with app.app_context():
        first = poll_bounce_mailbox()
        second = poll_bounce_mailbox()
    assert (first.fetched, first.acted, first.ignored, first.errors) == (3, 1, 2, 0)
    assert second.fetched == 0
    flags = flags_of(imap_server)
    assert b"\\Seen" in flags[0] and HANDLED in flags[0]
    assert all(b"\\Seen" in f and IGNORED in f for f in flags[1:])
    assert state(app)["notices"] == 1


def test_a_poll_can_move_handled_messages_to_a_folder(make_app, sent_world):
    app, _, imap_server = sent_world
    imap_server.append(report_about(app, "gmail_delayed"))
    app.config["BOUNCE_IMAP_URL"] = imap_server.url + "?processed=Processed"
    from refportal.mail.imap import poll_bounce_mailbox

    with app.app_context():
        assert poll_bounce_mailbox().acted == 1
    assert flags_of(imap_server) == []
    moved = flags_of(imap_server, "Processed")
    assert len(moved) == 1 and HANDLED in moved[0]
    assert row_for(app, REFEREE).delayed_at is not None


def test_the_mail_bounces_command_runs_one_poll(sent_world):
    app, _, imap_server = sent_world
    imap_server.append(report_about(app, "exchange_permanent"))
    result = app.test_cli_runner().invoke(args=["mail", "bounces"])
    assert result.exit_code == 0, result.output
    assert "reports 1: acted on 1, ignored 0, errors 0" in result.output
    assert state(app)["references"][REFEREE] == ReferenceStatus.BOUNCED


def test_the_mail_bounces_command_explains_what_is_missing(make_app, imap_server):
    app = make_app()
    result = app.test_cli_runner().invoke(args=["mail", "bounces"])
    assert result.exit_code != 0 and "BOUNCE_IMAP_URL is not set" in result.output
    app.config["BOUNCE_IMAP_URL"] = imap_server.url.replace(imap_server.password, "wrong-password")
    result = app.test_cli_runner().invoke(args=["mail", "bounces"])
    assert result.exit_code != 0 and "could not be read" in result.output


def test_a_message_whose_processing_fails_is_left_unseen_for_the_next_poll(sent_world):
    """A database failure mid-report: rolled back, not flagged, taken up again by the next poll."""
    app, _, imap_server = sent_world
    imap_server.append(report_about(app, "postfix_permanent"))
    from refportal.mail.imap import poll_bounce_mailbox

    with app.app_context():
        # A real failure: the column the report writes to is gone for the first poll.
        table = OutboxEmail.__table__
        with db.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE outbox_email RENAME COLUMN bounce_reason TO bounce_reason_gone"))
        try:
            report = poll_bounce_mailbox()
        finally:
            db.session.rollback()
            with db.engine.begin() as conn:
                conn.execute(sa.text("ALTER TABLE outbox_email RENAME COLUMN bounce_reason_gone TO bounce_reason"))
            db.engine.dispose()
        assert (report.fetched, report.errors) == (1, 1)
        assert table.name == "outbox_email"
    assert b"\\Seen" not in flags_of(imap_server)[0]
    assert state(app)["notices"] == 0
    with app.app_context():
        assert poll_bounce_mailbox().acted == 1
    assert state(app)["references"][REFEREE] == ReferenceStatus.BOUNCED and state(app)["notices"] == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutboxEmail.id))) >= 4


def test_a_database_failure_at_the_webhook_is_a_503_to_retry_and_changes_nothing(sent_world):
    app, _, _ = sent_world
    raw = report_about(app, "postfix_permanent")
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE outbox_email RENAME COLUMN bounce_reason TO bounce_reason_gone"))
    try:
        response = post_report(app, raw)
    finally:
        with app.app_context():
            db.session.rollback()
            with db.engine.begin() as conn:
                conn.execute(sa.text("ALTER TABLE outbox_email RENAME COLUMN bounce_reason_gone TO bounce_reason"))
            db.engine.dispose()
    assert response.status_code == 503 and response.is_json
    assert state(app)["references"][REFEREE] == ReferenceStatus.INVITED
    assert post_report(app, raw).status_code == 202
    assert state(app)["references"][REFEREE] == ReferenceStatus.BOUNCED
