"""The worker process: it alone delivers the outbox and runs the periodic jobs; SIGTERM finishes the
message in flight; a periodic job runs once per period however many workers race for it."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from refportal.db import utcnow
from refportal.extensions import db
from refportal.mail.models import OutboxEmail, OutboxStatus
from refportal.references.models import Reference, ReferenceStatus
from refportal.worker.models import ScheduledJob
from refportal.worker.schedule import Job, claim, run_due_jobs
from tests.builders import ready_applicant
from tests.mail.helpers import queue_many, wait_for
from tests.references.helpers import nominate_three, references, send_requests
from tests.support import require
from tests.worker.helpers import stop, worker_process


def statuses(app) -> list[OutboxStatus]:
    with app.app_context():
        return list(db.session.scalars(sa.select(OutboxEmail.status).order_by(OutboxEmail.id)))


def test_the_worker_alone_delivers_mail_and_expires_links(smtp_app, smtp_server):
    browser, application = ready_applicant(smtp_app)
    nominate_three(browser, application.id)
    send_requests(browser, application.id)
    with smtp_app.app_context():  # the links are older than their 30 days
        for reference in db.session.scalars(sa.select(Reference)):
            reference.link_issued_at = utcnow() - timedelta(days=31)
        db.session.commit()
    process = worker_process(smtp_app)
    try:
        wait_for(lambda: {r.status for r in references(smtp_app)} == {ReferenceStatus.EXPIRED}, 30, "expiry")
        # Three requests, then three "link expired" notices to the applicant: all through the worker.
        wait_for(lambda: len(smtp_server.delivered) == 6, 30, "six deliveries")
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    assert sorted(d.rcpt_tos[0] for d in smtp_server.delivered).count("applicant@example.org") == 3
    assert "job reference_reminders finished: reminders sent 0, links expired 3" in output
    with smtp_app.app_context():
        job = db.session.get(ScheduledJob, "reference_reminders")
        assert job.last_error is None and job.next_run_at > utcnow() + timedelta(minutes=55)


def test_sigterm_finishes_the_message_in_flight_and_hands_back_the_rest(smtp_app, smtp_server):
    smtp_server.handler.data_delay = 1.0
    queue_many(smtp_app, 5)
    process = worker_process(smtp_app)
    wait_for(lambda: OutboxStatus.SENDING in statuses(smtp_app), 30, "a claimed batch")
    threading.Event().wait(0.5)  # the first message is in the server's slow DATA answer
    output = stop(process)
    assert process.returncode == 0, output
    assert "worker stopping (SIGTERM)" in output and "worker stopped" in output
    assert len(smtp_server.delivered) == 1
    assert statuses(smtp_app) == [OutboxStatus.SENT] + [OutboxStatus.QUEUED] * 4
    with smtp_app.app_context():
        attempts = db.session.scalars(sa.select(OutboxEmail.attempts).order_by(OutboxEmail.id)).all()
    assert attempts == [1, 0, 0, 0, 0]  # handed back untried, no attempt counted


def counting_job(counter: list) -> Job:
    def run() -> str:
        counter.append(1)
        return "counted"

    return Job("counting", "REFERENCE_JOBS_INTERVAL_MINUTES", run)


def test_a_job_runs_once_per_period(app):
    runs: list = []
    job = counting_job(runs)
    now = utcnow()
    with app.app_context():
        assert run_due_jobs(now=now, jobs=(job,)) == ["counting"]
        assert run_due_jobs(now=now + timedelta(minutes=59), jobs=(job,)) == []
        assert run_due_jobs(now=now + timedelta(minutes=60), jobs=(job,)) == ["counting"]
    assert len(runs) == 2


def test_racing_workers_run_a_job_once_per_period(make_app, postgres_schema):
    if postgres_schema is None:
        require("PostgreSQL", "workers racing for a job need a database that several processes share")
    app = make_app()
    now = utcnow()
    job = counting_job([])
    for period in range(3):
        at = now + timedelta(minutes=60 * period)
        results, barrier = [], threading.Barrier(6)

        def race(at=at, results=results, barrier=barrier):
            with app.app_context():
                barrier.wait()
                results.append(claim(job, at))
                db.session.remove()

        threads = [threading.Thread(target=race) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert sorted(results) == [False] * 5 + [True], f"period {period}: {results}"


def test_a_failing_job_is_recorded_and_the_others_still_run(app):
    ran: list = []

    def broken() -> str:
        raise RuntimeError("the job broke")

    jobs = (Job("broken", "REFERENCE_JOBS_INTERVAL_MINUTES", broken), counting_job(ran))
    with app.app_context():
        assert run_due_jobs(jobs=jobs) == ["broken", "counting"]
        failed = db.session.get(ScheduledJob, "broken")
        assert failed.last_error == "RuntimeError: the job broke" and failed.last_finished_at is not None
        assert db.session.get(ScheduledJob, "counting").last_result == "counted"
    assert ran == [1]


@pytest.mark.parametrize("signal_to_send", [signal.SIGTERM, signal.SIGINT])
def test_an_idle_worker_stops_at_once(smtp_app, signal_to_send):
    process = worker_process(smtp_app, WORKER_POLL_SECONDS="60")
    wait_for(lambda: _job_row_exists(smtp_app), 30, "the worker's first round")
    process.send_signal(signal_to_send)
    output, _ = process.communicate(timeout=5)  # not after the 60 s sleep
    assert process.returncode == 0, output


def _job_row_exists(app) -> bool:
    with app.app_context():
        return db.session.get(ScheduledJob, "reference_reminders") is not None


def test_a_bounce_the_relay_reports_later_reaches_the_applicant_through_the_worker(make_app, smtp_server, imap_server):
    """The relay accepted the request, then its report lands in the bounce mailbox: within one
    polling interval the worker marks the reference bounced and the applicant is told."""
    from tests.mail.bounce_helpers import BOUNCE_BASE, PORTAL_FROM, report_about

    settings = {"MAIL_DEFAULT_SENDER": PORTAL_FROM, "BOUNCE_ADDRESS": BOUNCE_BASE, "BOUNCE_IMAP_URL": imap_server.url}
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, **settings)
    browser, application = ready_applicant(app)
    nominate_three(browser, application.id)
    send_requests(browser, application.id)
    process = worker_process(app, BOUNCE_IMAP_INTERVAL_MINUTES="0", **settings)
    try:
        wait_for(lambda: len(smtp_server.delivered) == 3, 30, "the three requests")
        [rae] = [d for d in smtp_server.delivered if d.rcpt_tos == ["rae@example.net"]]
        assert rae.mail_from.startswith("bounces+") and rae.message["From"] == PORTAL_FROM
        imap_server.append(report_about(app, "postfix_permanent"))
        wait_for(
            lambda: {r.email: r.status for r in references(app)}["rae@example.net"] is ReferenceStatus.BOUNCED,
            30,
            "the bounce",
        )
        wait_for(
            lambda: any(d.rcpt_tos == ["applicant@example.org"] for d in smtp_server.delivered),
            30,
            "the applicant's notice",
        )
    finally:
        output = stop(process)
    assert process.returncode == 0, output
    notices = [d for d in smtp_server.delivered if d.rcpt_tos == ["applicant@example.org"]]
    assert len(notices) == 1 and "could not be delivered" in notices[0].message["Subject"]
