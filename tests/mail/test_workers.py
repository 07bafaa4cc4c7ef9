"""Senders as separate processes: killed mid-batch, two at once on PostgreSQL, one at a time on SQLite."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from refportal.db import utcnow
from refportal.extensions import db
from refportal.mail.models import OutboxEmail, OutboxStatus
from refportal.mail.sender import deliver_due
from tests.mail.helpers import ROOT, queue_many, rows, wait_for
from tests.support import require


def sender_process(app, *args: str) -> subprocess.Popen:
    """`flask mail send` in its own process, configured like `app`."""
    env = {
        **os.environ,
        "REFPORTAL_ENV": "test",
        "SECRET_KEY": app.config["SECRET_KEY"],
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REFPORTAL_INSTANCE_PATH": app.instance_path,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(app.config["MAIL_PORT"]),
        "MAIL_TIMEOUT_SECONDS": "5",
        "PORTAL_BASE_URL": app.config["PORTAL_BASE_URL"],
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "refportal", "mail", "send", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_sender_killed_mid_batch_loses_nothing_and_duplicates_at_most_the_message_in_flight(smtp_app, smtp_server):
    smtp_server.handler.data_delay = 0.1
    addresses = queue_many(smtp_app, 30)
    process = sender_process(smtp_app)
    wait_for(lambda: len(smtp_server.delivered) >= 10, 60, "ten deliveries")
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    time.sleep(0.3)  # the message the server was still reading lands (or not)
    # The rows the killed sender had claimed but not marked: the one in flight may have been accepted.
    unrecorded = {r.to_address for r in rows(smtp_app) if r.status is OutboxStatus.SENDING}
    in_flight = {a for a in unrecorded if smtp_server.handler.count(a) == 1}
    assert len(in_flight) <= 1
    smtp_server.handler.data_delay = 0
    with smtp_app.app_context():
        assert deliver_due().claimed == 0  # the dead sender's claim still holds
        deliver_due(now=utcnow() + timedelta(seconds=smtp_app.config["MAIL_CLAIM_LEASE_SECONDS"] + 1))
    counts = {a: smtp_server.handler.count(a) for a in addresses}
    assert all(n >= 1 for n in counts.values()), "a message was lost"
    assert {a for a, n in counts.items() if n == 2} == in_flight, "only the message in flight may arrive twice"
    assert max(counts.values()) <= 2
    print(f"killed after {30 - len(unrecorded)} recorded; duplicated: {sorted(in_flight) or 'none'}")


def test_two_watching_senders_on_postgresql_deliver_each_message_exactly_once(smtp_app, smtp_server):
    with smtp_app.app_context():
        if db.engine.dialect.name != "postgresql":
            require("PostgreSQL", "several senders need FOR UPDATE SKIP LOCKED (set TEST_DATABASE_URL)")
    addresses = queue_many(smtp_app, 1000)
    workers = [sender_process(smtp_app, "--watch", "--interval", "0.2") for _ in range(2)]
    try:

        def all_sent():
            with smtp_app.app_context():
                return db.session.scalar(sa.select(sa.func.count()).where(OutboxEmail.status != OutboxStatus.SENT)) == 0

        wait_for(all_sent, 300, "1,000 messages sent")
    finally:
        for worker in workers:
            worker.terminate()
        outputs = [worker.communicate(timeout=10)[0] for worker in workers]
    counts = [smtp_server.handler.count(a) for a in addresses]
    assert counts.count(1) == 1000, f"duplicates: {sum(n > 1 for n in counts)}, missing: {counts.count(0)}"
    sent_by = [
        sum(int(line.split()[1].rstrip(",")) for line in out.splitlines() if line.startswith("sent "))
        for out in outputs
    ]
    assert sum(sent_by) == 1000 and all(n > 0 for n in sent_by), sent_by
    print(f"1000 queued, 1000 delivered once each; per worker {sent_by}")


def test_on_sqlite_a_second_sender_is_refused(make_app, smtp_server, tmp_path):
    # Always on SQLite, whatever database the rest of the suite uses.
    smtp_app = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'single-sender.db'}",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
    )
    with smtp_app.app_context():
        db.create_all()
    lock_path = Path(smtp_app.instance_path) / "mail-sender.lock"
    with open(lock_path, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a sender is running
        result = smtp_app.test_cli_runner().invoke(args=["mail", "send"])
    assert result.exit_code != 0 and "On SQLite only one may run at a time" in result.output
    assert smtp_app.test_cli_runner().invoke(args=["mail", "send"]).exit_code == 0
