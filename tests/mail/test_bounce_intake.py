"""The two ways reports come in: POST /hooks/bounces (bearer secret, JSON, never a 500) and the IMAP
mailbox (real dovecot: each message read once, flagged or moved), and the `mail bounces` command."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from refportal import create_app
from refportal.audit.models import AuditEvent
from refportal.extensions import db
from refportal.mail.bounces import IGNORE, read_bounce_report
from refportal.mail.imap import FAILURE_LIMIT, HANDLED, IGNORED, REJECTED
from refportal.mail.models import OutboxEmail
from refportal.mail.verp import bounce_address
from refportal.references.models import ReferenceStatus
from tests.mail.bounce_helpers import (
    BOUNCE_BASE,
    REFEREE,
    SECRET,
    deliver,
    hand_made_report,
    post_report,
    report_about,
    row_for,
    state,
)
from tests.support import base_config, require

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
    # MIME parts nested 3,000 deep: Python's parser recurses into each (a RecursionError, a 500 before).
    "parts nested 3000 deep": b"From: MAILER-DAEMON@example.net\r\nSubject: x\r\n"
    + b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(3000))
    + b"Content-Type: text/plain\r\n\r\nhi\r\n"
    + b"".join(b"--b%d--\r\n" % i for i in reversed(range(3000))),
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


def test_a_poll_ignores_garbage_and_never_fails_on_it(sent_world):
    app, _, imap_server = sent_world
    for raw in GARBAGE.values():
        imap_server.append(raw)
    from refportal.mail.imap import poll_bounce_mailbox

    before = state(app)
    with app.app_context():
        report = poll_bounce_mailbox()
    assert (report.fetched, report.acted, report.errors) == (len(GARBAGE), 0, 0)
    assert state(app) == before


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


# ------------------------------------------------------------------------------------------------
# Reports that cannot be recorded: the report's fault is never retried, the database's is


CONTROLS = "smtp; 550 5.1.1 <rae@example.net>: no\x00such\x01user\x7f\x9b \u00e9t\u00e9 \x00"


@pytest.mark.parametrize("via", ["webhook", "imap"])
def test_a_diagnostic_with_control_characters_is_recorded_cleaned(sent_world, via):
    """A NUL in a report's diagnostic (PostgreSQL text cannot hold one: the report was answered 503 for
    ever) is recorded without its control characters, in the row and in the audit event."""
    app, _, imap_server = sent_world
    row = row_for(app, REFEREE)
    with app.app_context():
        raw = hand_made_report(to=bounce_address(row.id), diagnostic=CONTROLS)
    deliver(app, imap_server, raw, via)
    reason = row_for(app, REFEREE).bounce_reason
    assert not re.search("[\x00-\x1f\x7f-\x9f]", reason)
    if via == "imap":  # dovecot keeps a NUL as the byte 0x80, read back as U+FFFD
        reason = " ".join(reason.replace("\ufffd", " ").split())
    assert reason == "5.1.1 smtp; 550 5.1.1 <rae@example.net>: no such user \u00e9t\u00e9"
    assert state(app)["references"][REFEREE] == ReferenceStatus.BOUNCED
    with app.app_context():
        event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "email.bounced")).one()
        assert event.details["reason"] == row_for(app, REFEREE).bounce_reason


def on_postgresql(app) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            require("PostgreSQL", "a value PostgreSQL refuses is the failure under test (set TEST_DATABASE_URL)")


@contextmanager
def refusing(app, create: str, drop: str):
    """A real refusal by the database while the block runs (a column too narrow, a trigger)."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text(create))
    try:
        yield
    finally:
        with app.app_context():
            db.session.rollback()
            with db.engine.begin() as conn:
                conn.execute(sa.text(drop))
            db.engine.dispose()


def too_narrow(app):
    """PostgreSQL refuses the report's reason (a DataError), as it refused a NUL byte."""
    return refusing(
        app,
        "ALTER TABLE outbox_email ALTER COLUMN bounce_reason TYPE varchar(8)",
        "ALTER TABLE outbox_email ALTER COLUMN bounce_reason TYPE varchar(500)",
    )


def test_a_report_the_database_refuses_is_rejected_at_the_webhook_not_retried(sent_world):
    """The report's own fault: 202 "rejected" (sent again it would fail again), nothing changed;
    only an unavailable database is a 503."""
    app, _, _ = sent_world
    on_postgresql(app)
    raw = report_about(app, "postfix_permanent")
    before = state(app)
    with too_narrow(app):
        response = post_report(app, raw)
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"outcome": "rejected", "outbox_id": None, "error": "the report cannot be recorded"}
    assert state(app) == before


def test_a_report_the_database_refuses_is_flagged_rejected_and_not_read_again(sent_world):
    app, _, imap_server = sent_world
    on_postgresql(app)
    imap_server.append(report_about(app, "postfix_permanent"))
    imap_server.append(report_about(app, "out_of_office"))
    before = state(app)
    from refportal.mail.imap import poll_bounce_mailbox

    with too_narrow(app), app.app_context():
        first = poll_bounce_mailbox()
    assert (first.fetched, first.rejected, first.ignored, first.errors) == (2, 1, 1, 0)
    assert state(app) == before
    with app.app_context():
        assert poll_bounce_mailbox().fetched == 0  # not read at every poll
    flags = flags_of(imap_server)
    assert {b"\\Seen", REJECTED} <= flags[0] and IGNORED in flags[1]


def test_a_report_that_keeps_failing_is_read_at_most_three_times(sent_world):
    """A failure neither clearly the report's nor the database's being unreachable (here a trigger that
    refuses the update): left unseen and counted in the message's flags; rejected at the third."""
    app, _, imap_server = sent_world
    imap_server.append(report_about(app, "postfix_permanent"))
    from refportal.mail.imap import poll_bounce_mailbox

    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
    if postgresql:
        create = (
            "CREATE FUNCTION refuse_bounce() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused'; END $$; "
            "CREATE TRIGGER refuse_bounce BEFORE UPDATE OF bounced_at ON outbox_email "
            "FOR EACH ROW EXECUTE FUNCTION refuse_bounce()"
        )
        drop = "DROP TRIGGER refuse_bounce ON outbox_email; DROP FUNCTION refuse_bounce()"
    else:
        create = (
            "CREATE TRIGGER refuse_bounce BEFORE UPDATE OF bounced_at ON outbox_email "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        drop = "DROP TRIGGER refuse_bounce"
    before = state(app)
    with refusing(app, create, drop), app.app_context():
        polls = [poll_bounce_mailbox() for _ in range(4)]
    assert [(p.fetched, p.errors, p.rejected) for p in polls] == [(1, 1, 0), (1, 1, 0), (1, 0, 1), (0, 0, 0)]
    assert state(app) == before
    [flags] = flags_of(imap_server)
    assert {b"\\Seen", REJECTED, b"$RefportalFailed1", b"$RefportalFailed2"} <= flags


def test_while_the_database_is_unreachable_reports_wait_in_the_mailbox(sent_world, tmp_path):
    """Not the report's fault: the webhook answers 503 and the poll leaves the report unseen and
    uncounted, however many polls it takes; once the database is back it is acted on."""
    app, _, imap_server = sent_world
    raw = report_about(app, "postfix_permanent")
    imap_server.append(raw)
    settings = {key: app.config[key] for key in ("BOUNCE_ADDRESS", "BOUNCE_WEBHOOK_SECRET", "BOUNCE_IMAP_URL")}
    down = create_app(
        {**base_config(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/none"), "ENV_NAME": "test", **settings}
    )
    assert post_report(down, raw).status_code == 503
    from refportal.mail.imap import poll_bounce_mailbox

    with down.app_context():
        polls = [poll_bounce_mailbox() for _ in range(FAILURE_LIMIT + 1)]
        db.engine.dispose()
    assert all((p.fetched, p.errors, p.rejected) == (1, 1, 0) for p in polls)
    [flags] = flags_of(imap_server)
    assert not {f for f in flags if f.startswith((b"$Refportal", b"\\Seen"))}
    with app.app_context():
        assert poll_bounce_mailbox().acted == 1
    assert state(app)["references"][REFEREE] == ReferenceStatus.BOUNCED


def test_a_database_lost_at_the_requests_commit_is_a_503_to_retry_and_changes_nothing(sent_world, monkeypatch):
    """The request commits after the view answered 202: a failure there is still the machine's 503, in JSON."""
    app, _, _ = sent_world
    raw = report_about(app, "postfix_permanent")
    app.config["TESTING"] = False

    def lost(*args, **kwargs):
        raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(db.session, "commit", lost)
    response = post_report(app, raw)
    monkeypatch.undo()
    assert response.status_code == 503 and response.is_json
    assert state(app)["references"][REFEREE] == ReferenceStatus.INVITED


def test_an_http_error_at_the_webhook_is_answered_in_json(sent_world):
    app, _, _ = sent_world
    response = app.test_client().get("/hooks/bounces")
    assert response.status_code == 405 and response.is_json
