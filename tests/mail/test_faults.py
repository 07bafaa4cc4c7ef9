"""The sender against an SMTP server that misbehaves: every message delivered, none twice, no hang.

Counts are taken at the SMTP server (aiosmtpd on loopback), not from the outbox."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from refportal.db import utcnow
from refportal.mail.models import OutboxStatus
from refportal.mail.sender import deliver_due
from refportal.references.models import ReferenceStatus
from tests.builders import ready_applicant
from tests.mail.helpers import queue, rows
from tests.references.helpers import nominate_three, references, send_requests

ADDRESSES = [f"r{i}@example.org" for i in range(4)]


def drain(app, *, later=timedelta(0), rounds=5):
    with app.app_context():
        for n in range(rounds):
            deliver_due(now=utcnow() + later * (n + 1))


@pytest.mark.parametrize("where", ["rcpt", "data"])
def test_451_is_retried_with_backoff_and_delivered_when_accepted(smtp_app, smtp_server, where):
    if where == "rcpt":
        smtp_server.handler.rcpt_replies = {a: "451 4.7.1 greylisted, try later" for a in ADDRESSES}
    else:
        smtp_server.handler.data_reply = "451 4.3.0 temporary failure"
    queue(smtp_app, *ADDRESSES)
    with smtp_app.app_context():
        first = deliver_due()
        second = deliver_due()  # immediately again: nothing is due yet (backoff)
    assert (first.retried, second.claimed) == (4, 0)
    waits = [r.next_attempt_at - utcnow() for r in rows(smtp_app)]
    assert all(timedelta(seconds=50) < w <= timedelta(seconds=60) for w in waits)
    smtp_server.handler.rcpt_replies, smtp_server.handler.data_reply = {}, None
    drain(smtp_app, later=timedelta(minutes=2))
    assert [smtp_server.handler.count(a) for a in ADDRESSES] == [1, 1, 1, 1]
    assert {r.status for r in rows(smtp_app)} == {OutboxStatus.SENT}
    assert {r.attempts for r in rows(smtp_app)} == {2}


@pytest.mark.parametrize("where, reply", [("rcpt", "550 5.1.1 no such user"), ("data", "554 5.7.1 message refused")])
def test_5xx_fails_for_good_bounces_the_reference_and_tells_the_applicant(smtp_app, smtp_server, where, reply):
    browser, application = ready_applicant(smtp_app)
    nominate_three(browser, application.id)
    if where == "rcpt":
        smtp_server.handler.rcpt_replies = {"rae@example.net": reply}
    send_requests(browser, application.id)
    if where == "data":
        smtp_server.handler.data_reply = reply
    with smtp_app.app_context():
        report = deliver_due()
    if where == "data":
        assert report.failed == 3
    smtp_server.handler.data_reply = None
    drain(smtp_app, later=timedelta(days=1))
    bounced = {r.email for r in references(smtp_app) if r.status is ReferenceStatus.BOUNCED}
    assert bounced == (
        {"rae@example.net"} if where == "rcpt" else {"sam@example.net", "rae@example.net", "cole@example.net"}
    )
    assert smtp_server.handler.count("rae@example.net") == 0  # never retried
    notices = smtp_server.handler.count("applicant@example.org")
    assert notices == len(bounced)
    failed = [r for r in rows(smtp_app) if r.status is OutboxStatus.FAILED]
    assert {r.to_address for r in failed} == bounced and all(r.attempts == 0 or r.attempts == 1 for r in failed)


def test_a_stalling_server_times_out_and_the_message_is_retried(make_app, smtp_server):
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_TIMEOUT_SECONDS=1)
    smtp_server.handler.data_delay = 3
    smtp_server.handler.data_reply = "451 4.4.2 too slow"  # if it ever answers, it refuses
    queue(app, "a@example.org", "b@example.org")
    started = time.monotonic()
    with app.app_context():
        report = deliver_due()
    assert time.monotonic() - started < 2.5  # the worker did not wait for the server
    assert report.retried == 1 and report.sent == 0
    assert {r.status for r in rows(app)} == {OutboxStatus.QUEUED}  # the second one was handed back
    smtp_server.handler.data_delay, smtp_server.handler.data_reply = 0, None
    drain(app, later=timedelta(minutes=5))
    assert [smtp_server.handler.count(a) for a in ("a@example.org", "b@example.org")] == [1, 1]


def test_a_disconnect_after_acceptance_counts_as_sent_and_is_not_resent(smtp_app, smtp_server):
    smtp_server.handler.close_after_accept = True
    queue(smtp_app, *ADDRESSES)
    drain(smtp_app, later=timedelta(minutes=5), rounds=8)
    assert [smtp_server.handler.count(a) for a in ADDRESSES] == [1, 1, 1, 1]
    assert {r.status for r in rows(smtp_app)} == {OutboxStatus.SENT}


def test_server_down_for_the_whole_run_then_back(make_app, smtp_server):
    from tests.smtp import free_port

    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT_SECONDS=2)
    queue(app, *ADDRESSES)
    drain(app, later=timedelta(minutes=30), rounds=3)
    assert {r.status for r in rows(app)} == {OutboxStatus.QUEUED} and {r.attempts for r in rows(app)} == {3}
    app.config["MAIL_PORT"] = smtp_server.port
    with app.app_context():
        assert deliver_due(now=utcnow() + timedelta(hours=6)).sent == 4
    assert [smtp_server.handler.count(a) for a in ADDRESSES] == [1, 1, 1, 1]
