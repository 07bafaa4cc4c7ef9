"""The scheduled part of an endorsement's year: the worker's periodic job opens the renewal window, ends
the period (grace) and ends the grace (lapse), and tells the endorsee each time, with reminders between.

The job acts on the state the date implies, so a day the worker missed is caught up on its next run: an
endorsement whose grace ended while the worker was down lapses in one run (each step through
`transition()`, dated the day it took effect), and its holder gets only the notice of where it ended.
An endorsement whose renewal waits for staff (submitted, not decided) does not lapse when its grace ends,
and its holder is sent no notice while it waits: it stays in grace until staff decide (approved, it is
renewed; refused, it lapses at the next run if the grace has ended). Every notice is recorded
(`endorsement_notice`): each kind at most once per endorsement and period. A
reminder goes on its day, or on a later run if that day was missed, but never one that an earlier
reminder or the state's own notice already covers. Each endorsement is its own unit of work: one that
fails (its e-mail cannot be built) is rolled back and logged, and the others go on."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utc_today
from refportal.endorsements.lifecycle import EndorsementStatus, Event, transition
from refportal.endorsements.models import Endorsement, EndorsementNotice
from refportal.endorsements.renewal_review import waiting_for_staff
from refportal.extensions import db
from refportal.i18n import known_language
from refportal.mail.services import external_url, queue_email
from refportal.transactions import unit_of_work

log = logging.getLogger("refportal.endorsements")

S = EndorsementStatus

# The scheduled steps: from a state, the event that moves it on and the audited action.
STEPS: dict[EndorsementStatus, tuple[Event, AuditAction]] = {
    S.ACTIVE: (Event.OPEN_RENEWAL, AuditAction.ENDORSEMENT_RENEWAL_OPENED),
    S.RENEWAL_DUE: (Event.END_PERIOD, AuditAction.ENDORSEMENT_PERIOD_ENDED),
    S.GRACE: (Event.END_GRACE, AuditAction.ENDORSEMENT_LAPSED),
}
ORDER = (S.ACTIVE, S.RENEWAL_DUE, S.GRACE, S.LAPSED)
# The notice of each state the job moves an endorsement into: its kind, and its e-mail template.
STATE_NOTICES = {
    S.RENEWAL_DUE: ("renewal_open", "endorsement_renewal_open"),
    S.GRACE: ("grace", "endorsement_grace"),
    S.LAPSED: ("lapsed", "endorsement_lapsed"),
}


@dataclass(frozen=True)
class CycleDates:
    """The dates of an endorsement's current period, as the settings place them."""

    window_opens_on: date  # the first day the endorsee may renew
    period_ends_on: date  # the last day of the period
    grace_ends_on: date  # the last day of grace; the endorsement lapses the day after

    @property
    def lapses_on(self) -> date:
        return self.grace_ends_on + timedelta(days=1)

    def status_on(self, day: date) -> EndorsementStatus:
        """The state the date implies for an endorsement not renewed."""
        if day > self.grace_ends_on:
            return S.LAPSED
        if day > self.period_ends_on:
            return S.GRACE
        if day >= self.window_opens_on:
            return S.RENEWAL_DUE
        return S.ACTIVE

    def began_on(self, status: EndorsementStatus) -> date:
        """The day the scheduled state began (what its change in the history is dated)."""
        return {
            S.RENEWAL_DUE: self.window_opens_on,
            S.GRACE: self.period_ends_on + timedelta(days=1),
            S.LAPSED: self.lapses_on,
        }[status]


def cycle_dates(endorsement: Endorsement) -> CycleDates:
    config = current_app.config
    ends_on = endorsement.period_ends_on
    return CycleDates(
        window_opens_on=ends_on - timedelta(days=config["ENDORSEMENT_RENEWAL_WINDOW_DAYS"]),
        period_ends_on=ends_on,
        grace_ends_on=ends_on + timedelta(days=config["ENDORSEMENT_GRACE_DAYS"]),
    )


def _reminder_days(status: EndorsementStatus, dates: CycleDates) -> list[tuple[str, date]]:
    """The reminders of the state, as (kind, day to send on)."""
    config = current_app.config
    if status is S.RENEWAL_DUE:
        return [
            (f"reminder_{days}", dates.period_ends_on - timedelta(days=days))
            for days in config["ENDORSEMENT_REMINDER_DAYS"]
        ]
    if status is S.GRACE:
        return [
            (f"grace_reminder_{days}", dates.period_ends_on + timedelta(days=days))
            for days in config["ENDORSEMENT_GRACE_REMINDER_DAYS"]
            if days <= config["ENDORSEMENT_GRACE_DAYS"]
        ]
    return []


def _sent(endorsement: Endorsement) -> dict[str, date]:
    """The notices already sent for the endorsement's current period: kind → the day."""
    rows = db.session.execute(
        sa.select(EndorsementNotice.kind, EndorsementNotice.sent_on).where(
            EndorsementNotice.endorsement_id == endorsement.id,
            EndorsementNotice.period_ends_on == endorsement.period_ends_on,
        )
    ).all()
    return {kind: sent_on for kind, sent_on in rows}


def _notify(endorsement: Endorsement, kind: str, template: str, dates: CycleDates, today: date) -> bool:
    """E-mail the endorsee (unless their account is closed), in the language of their account, and
    record the notice; True when sent."""
    holder = endorsement.holder
    if holder.deactivated_at is not None:
        return False
    with force_locale(known_language(holder.language)):
        queue_email(
            template,
            holder.email,
            related=endorsement,
            endorsee=holder,
            endorsement=endorsement,
            dates=dates,
            days_left=(dates.period_ends_on - today).days,
            grace_days_left=(dates.grace_ends_on - today).days,
            link=external_url("submission.dashboard"),
            reinstate_link=external_url("endorsements.reinstate", number=endorsement.number),
        )
    db.session.add(
        EndorsementNotice(
            endorsement_id=endorsement.id, period_ends_on=endorsement.period_ends_on, kind=kind, sent_on=today
        )
    )
    return True


def advance(endorsement: Endorsement, today: date) -> list[str]:
    """Bring one endorsement to the state `today` implies, and send what is due; returns the kinds of
    the notices sent."""
    dates = cycle_dates(endorsement)
    due = dates.status_on(today)
    waiting = waiting_for_staff(endorsement)
    if waiting and due is S.LAPSED:
        due = S.GRACE  # staff have not decided yet: no lapse
    moved = False
    while endorsement.status in STEPS and ORDER.index(endorsement.status) < ORDER.index(due):
        event, action = STEPS[endorsement.status]
        began_on = dates.began_on(ORDER[ORDER.index(endorsement.status) + 1])
        before = transition(endorsement, event, at=_start_of(began_on))
        record(action, obj=endorsement, actor=None, number=endorsement.number, before=before.value)
        moved = True
    if waiting:
        return []  # the endorsee has done their part: nothing to remind them of
    sent = _sent(endorsement)
    if moved:
        kind, template = STATE_NOTICES[endorsement.status]
        if kind not in sent:
            return [kind] if _notify(endorsement, kind, template, dates, today) else []
        return []
    return _remind(endorsement, dates, sent, today)


def _remind(endorsement: Endorsement, dates: CycleDates, sent: dict[str, date], today: date) -> list[str]:
    """The latest reminder whose day has come, unless it is sent, or the state's notice or an earlier
    reminder went on or after its day."""
    status = endorsement.status
    if status not in (S.RENEWAL_DUE, S.GRACE):
        return []
    covered_until = max(sent.values(), default=None)
    due = [(day, kind) for kind, day in _reminder_days(status, dates) if day <= today]
    if not due:
        return []
    day, kind = max(due)
    if kind in sent or (covered_until is not None and covered_until >= day):
        return []
    template = "endorsement_renewal_reminder" if status is S.RENEWAL_DUE else "endorsement_grace_reminder"
    return [kind] if _notify(endorsement, kind, template, dates, today) else []


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _candidates(today: date) -> list[int]:
    """Endorsements the job may have work for: active ones whose window has opened, and every one due
    for renewal or in grace."""
    window = timedelta(days=current_app.config["ENDORSEMENT_RENEWAL_WINDOW_DAYS"])
    return list(
        db.session.scalars(
            sa.select(Endorsement.id)
            .where(
                sa.or_(
                    sa.and_(Endorsement.status == S.ACTIVE, Endorsement.period_ends_on <= today + window),
                    Endorsement.status.in_((S.RENEWAL_DUE, S.GRACE)),
                )
            )
            .order_by(Endorsement.id)
        )
    )


@dataclass
class CycleRun:
    notices: int = 0
    failed: int = 0


def run_annual_cycle(today: date | None = None) -> CycleRun:
    """Every endorsement the date concerns, each in its own unit of work."""
    today = today or utc_today()
    outcome = CycleRun()
    for endorsement_id in _candidates(today):
        try:
            with unit_of_work():
                # Locked: a renewal approved meanwhile waits for this run, or this run for it.
                endorsement = db.session.get(Endorsement, endorsement_id, with_for_update=True)
                if endorsement is not None:
                    outcome.notices += len(advance(endorsement, today))
        except Exception:  # noqa: BLE001 - one endorsement's failure is logged; the others go on
            log.exception("the annual cycle of endorsement %s failed", endorsement_id)
            outcome.failed += 1
    return outcome


def run_endorsement_jobs() -> str:
    """The worker's periodic job."""
    outcome = run_annual_cycle()
    return f"{outcome.notices} endorsement notice(s), {outcome.failed} failed"
