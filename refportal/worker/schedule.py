"""Periodic jobs: each runs once per period across every worker process. A worker claims a due job
with one conditional UPDATE on its row (`next_run_at <= now` → `now + period`); only the worker whose
UPDATE changed the row runs it. A job that fails is rolled back and recorded; the worker goes on."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from refportal.db import rows_changed, utcnow
from refportal.extensions import db
from refportal.transactions import unit_of_work
from refportal.worker.models import ScheduledJob

log = logging.getLogger("refportal.worker")


@dataclass(frozen=True)
class Job:
    name: str
    period_setting: str  # minutes between runs, from the settings
    run: Callable[[], str]  # does the work, commits, and says what it did in a few words

    def period(self) -> timedelta:
        return timedelta(minutes=current_app.config[self.period_setting])


def registered_jobs() -> tuple[Job, ...]:
    """Every periodic job the settings call for; a slice's new scheduled work is one entry here."""
    from refportal.endorsements.renewal_notices import run_endorsement_jobs
    from refportal.mail.imap import run_bounce_poll
    from refportal.references.reminders import run_scheduled_reminders
    from refportal.reviews.notices import run_review_jobs

    jobs = [
        Job("reference_reminders", "REFERENCE_JOBS_INTERVAL_MINUTES", run_scheduled_reminders),
        Job("review_assignments", "REVIEW_JOBS_INTERVAL_MINUTES", run_review_jobs),
        Job("endorsement_cycle", "ENDORSEMENT_JOBS_INTERVAL_MINUTES", run_endorsement_jobs),
    ]
    if current_app.config.get("BOUNCE_IMAP_URL"):
        jobs.append(Job("bounce_mailbox", "BOUNCE_IMAP_INTERVAL_MINUTES", run_bounce_poll))
    return tuple(jobs)


def claim(job: Job, now: datetime) -> bool:
    """True when this worker may run `job` now (and nobody else may until its next period)."""
    with unit_of_work():
        _ensure_row(job.name, now)
        claimed = rows_changed(
            db.session,
            sa.update(ScheduledJob)
            .where(ScheduledJob.name == job.name, ScheduledJob.next_run_at <= now)
            .values(next_run_at=now + job.period(), last_started_at=now),
        )
    return claimed == 1


def _ensure_row(name: str, now: datetime) -> None:
    """The job's row, created due at once; a concurrent creation by another worker is fine."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(ScheduledJob).values(name=name, next_run_at=now).on_conflict_do_nothing())


def run_due_jobs(
    *, now: datetime | None = None, jobs: tuple[Job, ...] | None = None, should_stop: Callable[[], bool] = lambda: False
) -> list[str]:
    """Run each due job this worker claims; returns the names of those it ran."""
    ran = []
    for job in jobs if jobs is not None else registered_jobs():
        if should_stop():
            break
        if not claim(job, now or utcnow()):
            continue
        ran.append(job.name)
        _run(job)
    return ran


def _run(job: Job) -> None:
    log.info("job %s started", job.name)
    try:
        with unit_of_work():  # the job's changes, committed when it ends (or rolled back)
            result, error = job.run(), None
    except Exception as exc:  # noqa: BLE001 - a failing job is recorded; the worker goes on
        log.exception("job %s failed", job.name)
        result, error = None, f"{type(exc).__name__}: {exc}"[:500]
    with unit_of_work():
        db.session.execute(
            sa.update(ScheduledJob)
            .where(ScheduledJob.name == job.name)
            .values(last_finished_at=utcnow(), last_result=(result or "")[:200] or None, last_error=error)
        )
    if error is None:
        log.info("job %s finished: %s", job.name, result)
