"""`flask --app refportal worker`: send the outbox continuously, scan pending documents, and run the
periodic jobs on their cadence, in one long-running process (no cron entry). SIGTERM or SIGINT: the
message in flight is finished and marked, the rest of its batch handed back, and the process exits."""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask import current_app

from refportal.api.webhooks import deliver_webhooks
from refportal.documents.services import scan_due_documents
from refportal.mail.cli import single_sender_on_sqlite
from refportal.mail.sender import deliver_due
from refportal.startup import check_schema
from refportal.transactions import rollback
from refportal.worker.schedule import run_due_jobs

log = logging.getLogger("refportal.worker")


@click.command("worker")
def worker_command() -> None:
    """Send e-mail and run the periodic jobs until stopped (SIGTERM ends it cleanly)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["ENV_NAME"] == "production":
        check_schema(app)
    stopping = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        log.info("worker stopping (%s)", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    interval = app.config["WORKER_POLL_SECONDS"]
    sending = bool(app.config.get("MAIL_SERVER"))
    if not sending:
        log.warning("MAIL_SERVER is not set: the worker runs the periodic jobs only; e-mail stays in the outbox")
    log.info("worker started (outbox every %s s)", interval)
    with single_sender_on_sqlite():
        while not stopping.is_set():
            busy = False
            if sending:
                report = deliver_due(should_stop=stopping.is_set)
                busy = report.claimed > 0
                if busy:
                    log.info("mail: sent %s, retry later %s, failed %s", report.sent, report.retried, report.failed)
            try:
                hooks = deliver_webhooks(should_stop=stopping.is_set)
            except Exception:  # a webhook problem never stops e-mail and the periodic jobs
                rollback()
                log.exception("webhook delivery failed; the worker goes on")
            else:
                busy = busy or hooks.claimed > 0
                if hooks.claimed:
                    log.info("webhooks: sent %s, retry later %s, failed %s", hooks.sent, hooks.retried, hooks.failed)
            try:
                scans = scan_due_documents(should_stop=stopping.is_set)
            except Exception:  # a scanning problem never stops e-mail and the periodic jobs
                rollback()
                log.exception("document scanning failed; the worker goes on")
            else:
                busy = busy or scans.clean + scans.quarantined > 0
                if scans.claimed:
                    log.info(
                        "documents: clean %s, quarantined %s, retry later %s",
                        scans.clean,
                        scans.quarantined,
                        scans.retried,
                    )
            run_due_jobs(should_stop=stopping.is_set)
            if not busy:
                stopping.wait(interval)
    log.info("worker stopped")
