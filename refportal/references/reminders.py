"""Reminders (the applicant's, and the scheduled ones at REFERENCE_REMINDER_DAYS) re-send the same live
link; the scheduled run also expires links past their age."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import User
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.references.lifecycle import AWAITING_ANSWER, Event, target, transition
from refportal.references.links import link_deadline, send_link
from refportal.references.models import Reference
from refportal.references.notices import tell_applicant


def remind_referee(*, reference: Reference, actor: User | None) -> None:
    """Re-send the same live link (at most once per interval)."""
    target(reference, Event.REMIND)  # refused unless asked and not answered yet
    interval = timedelta(hours=current_app.config["REFERENCE_REMINDER_INTERVAL_HOURS"])
    now = utcnow()
    if reference.last_reminder_at and now - reference.last_reminder_at < interval:
        next_time = reference.last_reminder_at + interval
        raise Refused(f"A reminder was sent recently. The next one can be sent after {next_time:%d %B %Y, %H:%M} UTC.")
    reference.last_reminder_at = now
    send_link(reference, "reference_reminder")
    record(AuditAction.REFERENCE_REMINDED, obj=reference, actor=actor)


def run_scheduled_reminders() -> str:
    """The worker's periodic job: reminders and expiry."""
    reminded, expired = run_reminders()
    return f"reminders sent {reminded}, links expired {expired}"


def run_reminders(*, now: datetime | None = None) -> tuple[int, int]:
    """Expire links past their age and send due reminders; safe to run any number of times.

    Returns (reminders sent, references expired)."""
    now = now or utcnow()
    days = current_app.config["REFERENCE_REMINDER_DAYS"]
    interval = timedelta(hours=current_app.config["REFERENCE_REMINDER_INTERVAL_HOURS"])
    reminded = expired = 0
    live = db.session.scalars(sa.select(Reference).where(Reference.status.in_(AWAITING_ANSWER)).order_by(Reference.id))
    for reference in live:
        if now >= link_deadline(reference):
            transition(reference, Event.EXPIRE)
            reference.expired_at = now
            record(AuditAction.REFERENCE_EXPIRED, obj=reference)
            tell_applicant(reference, "reference_expired")
            expired += 1
            continue
        sent = reference.auto_reminders_sent
        issued = reference.link_issued_at
        due = issued is not None and sent < len(days) and now >= issued + timedelta(days=days[sent])
        recent = reference.last_reminder_at is not None and now - reference.last_reminder_at < interval
        if due and not recent:
            reference.auto_reminders_sent = sent + 1
            reference.last_reminder_at = now
            send_link(reference, "reference_reminder")
            record(AuditAction.REFERENCE_REMINDED, obj=reference, automatic=True)
            reminded += 1
        elif due:
            reference.auto_reminders_sent = sent + 1  # the applicant's own reminder stood in for this one
    return reminded, expired
