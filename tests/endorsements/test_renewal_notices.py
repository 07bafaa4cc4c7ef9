"""The scheduled part of an endorsement's year, with a frozen `today`: the renewal window opens, reminders
go on their days (each once, however often the job runs), the period ends in grace, the grace in a lapse
(out of the registry) and the endorsee is told how to reinstate. A missed stretch is caught up in one
run; racing workers send each notice once; one endorsement whose e-mail cannot be built does not stop
the others."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.db import utc_today, utcnow
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.endorsements.models import Endorsement, EndorsementNotice
from refportal.endorsements.renewal_notices import run_annual_cycle
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.worker.schedule import registered_jobs, run_due_jobs
from tests.builders import logged_in
from tests.endorsements.helpers import endorse, set_listing
from tests.factories import EndorsementFactory, make_user
from tests.support import require, run_together

S = EndorsementStatus
DAY = timedelta(days=1)


def long_date(day: date) -> str:
    """A date in an English notice (Babel's long format, as in every e-mail): December 2, 2026."""
    return f"{day:%B} {day.day}, {day.year}"


def endorsement(app, number: str) -> tuple[EndorsementStatus, date]:
    """The endorsement's status and the end of its period."""
    with app.app_context():
        row = db.session.execute(
            sa.select(Endorsement.status, Endorsement.period_ends_on).where(Endorsement.number == number)
        ).one()
        return row.status, row.period_ends_on


def run(app, today: date) -> int:
    """One run of the job as the worker makes it (its own unit of work), on `today`; the notices it sent."""
    with app.app_context():
        outcome = run_annual_cycle(today)
        assert outcome.failed == 0
        return outcome.notices


def notices_to(app, address: str) -> list[OutboxEmail]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(OutboxEmail)
            .where(OutboxEmail.to_address == address, OutboxEmail.template.startswith("endorsement_"))
            .order_by(OutboxEmail.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def templates_to(app, address: str) -> list[str]:
    return [email.template for email in notices_to(app, address)]


def history(app, number: str) -> list[tuple[str, date]]:
    with app.app_context():
        record = db.session.scalars(sa.select(Endorsement).where(Endorsement.number == number)).one()
        return [(change.event, change.changed_at.date()) for change in record.changes]


def test_the_whole_year_of_an_endorsement_not_renewed(app, client):
    number = endorse(app, name="Rita Renewal", email="rita@example.org")
    set_listing(app, number, listed=True)
    status, ends = endorsement(app, number)
    assert status is S.ACTIVE

    # Before the window opens (ENDORSEMENT_RENEWAL_WINDOW_DAYS = 60): nothing.
    assert run(app, ends - 61 * DAY) == 0
    assert endorsement(app, number)[0] is S.ACTIVE and templates_to(app, "rita@example.org") == []

    # The window opens: renewal due, and the endorsee told once, however often the job runs that day.
    assert run(app, ends - 60 * DAY) == 1
    assert run(app, ends - 60 * DAY) == 0
    assert endorsement(app, number)[0] is S.RENEWAL_DUE
    [opened] = notices_to(app, "rita@example.org")
    assert opened.template == "endorsement_renewal_open"
    assert f"ends on {long_date(ends)}" in opened.body_text and number in opened.body_text

    browser = logged_in(app, "rita@example.org")
    dashboard = browser.get("/dashboard").get_data(as_text=True)
    assert f"Renewal window open until {ends.strftime('%d %B %Y')}" in dashboard

    # Reminders on their days (ENDORSEMENT_REMINDER_DAYS = 30,7), each once even with two runs a day.
    for today in (ends - 45 * DAY, ends - 31 * DAY):
        assert run(app, today) == 0
    assert run(app, ends - 30 * DAY) == 1
    assert run(app, ends - 30 * DAY) == 0
    assert run(app, ends - 29 * DAY) == 0
    assert run(app, ends - 7 * DAY) == 1
    assert run(app, ends - 7 * DAY) == 0
    assert run(app, ends) == 0  # the period's last day: still due for renewal
    reminders = notices_to(app, "rita@example.org")[1:]
    assert [email.template for email in reminders] == ["endorsement_renewal_reminder"] * 2
    assert "in 30 days" in reminders[0].body_text and "in 7 days" in reminders[1].body_text

    # The period ends without a renewal: grace (ENDORSEMENT_GRACE_DAYS = 30), still in the registry.
    grace_ends = ends + 30 * DAY
    assert run(app, ends + DAY) == 1
    assert run(app, ends + DAY) == 0
    assert endorsement(app, number)[0] is S.GRACE
    grace = notices_to(app, "rita@example.org")[-1]
    assert grace.template == "endorsement_grace" and f"until {long_date(grace_ends)}" in grace.body_text
    assert "Rita Renewal" in client.get("/registry/").get_data(as_text=True)
    dashboard = browser.get("/dashboard").get_data(as_text=True)
    assert f"in grace until {grace_ends.strftime('%d %B %Y')}" in dashboard

    # Grace reminders (ENDORSEMENT_GRACE_REMINDER_DAYS = 7,21), each once.
    for today in (ends + 6 * DAY, ends + 7 * DAY, ends + 7 * DAY, ends + 20 * DAY, ends + 21 * DAY, ends + 21 * DAY):
        run(app, today)
    assert run(app, grace_ends) == 0  # grace's last day: still in force
    assert endorsement(app, number)[0] is S.GRACE
    grace_reminders = notices_to(app, "rita@example.org")[4:]
    assert [email.template for email in grace_reminders] == ["endorsement_grace_reminder"] * 2
    assert "in 23 days" in grace_reminders[0].body_text and "in 9 days" in grace_reminders[1].body_text

    # The grace ends: lapsed, out of the registry, and the endorsee told how to reinstate.
    lapses_on = grace_ends + DAY
    assert run(app, lapses_on) == 1
    assert run(app, lapses_on + 10 * DAY) == 0
    assert endorsement(app, number)[0] is S.LAPSED
    lapsed = notices_to(app, "rita@example.org")[-1]
    assert lapsed.template == "endorsement_lapsed"
    assert f"lapsed on {long_date(lapses_on)}" in lapsed.body_text.replace("\n", " ")
    assert "three new reference ratings" in lapsed.body_text and "pay the fees again" in lapsed.body_text
    assert f"/endorsements/{number}/reinstate" in lapsed.body_text

    assert "Rita Renewal" not in client.get("/registry/").get_data(as_text=True)
    assert "Rita Renewal" not in client.get("/registry/?name=rita").get_data(as_text=True)
    verification = client.get(f"/registry/{number}").get_data(as_text=True)
    assert "Not valid today" in verification and "Rita Renewal" not in verification
    dashboard = browser.get("/dashboard").get_data(as_text=True)
    assert f"Lapsed on {lapses_on.strftime('%d %B %Y')}" in dashboard and "three new reference ratings" in dashboard

    assert templates_to(app, "rita@example.org") == [
        "endorsement_renewal_open",
        "endorsement_renewal_reminder",
        "endorsement_renewal_reminder",
        "endorsement_grace",
        "endorsement_grace_reminder",
        "endorsement_grace_reminder",
        "endorsement_lapsed",
    ]
    # Each step through the lifecycle, dated the day it took effect, and audited.
    assert history(app, number)[1:] == [
        ("open_renewal", ends - 60 * DAY),
        ("end_period", ends + DAY),
        ("end_grace", lapses_on),
    ]
    with app.app_context():
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.object_type == "endorsement").order_by(AuditEvent.id)
        )
        assert list(actions) == [
            AuditAction.ENDORSEMENT_ISSUED,
            AuditAction.ENDORSEMENT_RENEWAL_OPENED,
            AuditAction.ENDORSEMENT_PERIOD_ENDED,
            AuditAction.ENDORSEMENT_LAPSED,
        ]


def test_missed_days_are_caught_up_in_one_run(app):
    late = endorse(app, name="Lou Late", email="lou@example.org")
    away = endorse(app, name="Ada Away", email="ada@example.org")
    ends = endorsement(app, late)[1]

    # The worker was down for the week the window opened: it opens on the next run.
    assert run(app, ends - 53 * DAY) == 2
    assert endorsement(app, late)[0] is S.RENEWAL_DUE
    assert history(app, late)[-1] == ("open_renewal", ends - 60 * DAY)

    # Down again from before the 7-day reminder to after the period ended: one run, grace and its notice
    # only (the missed reminder is not sent late).
    assert run(app, ends - 30 * DAY) == 2
    assert run(app, ends + 3 * DAY) == 2
    assert endorsement(app, late)[0] is endorsement(app, away)[0] is S.GRACE
    assert templates_to(app, "lou@example.org") == [
        "endorsement_renewal_open",
        "endorsement_renewal_reminder",
        "endorsement_grace",
    ]
    # The 7th day of grace was missed: its reminder goes on the next run, once.
    assert run(app, ends + 9 * DAY) == 2
    assert run(app, ends + 10 * DAY) == 0
    assert templates_to(app, "lou@example.org")[-1] == "endorsement_grace_reminder"
    assert templates_to(app, "ada@example.org") == templates_to(app, "lou@example.org")


def test_an_endorsement_the_worker_never_saw_lapses_in_one_run_with_one_notice(app):
    number = endorse(app, name="Sam Sleeper", email="sam@example.org")
    ends = endorsement(app, number)[1]
    assert run(app, ends + 40 * DAY) == 1
    assert endorsement(app, number)[0] is S.LAPSED
    assert templates_to(app, "sam@example.org") == ["endorsement_lapsed"]
    assert history(app, number)[1:] == [
        ("open_renewal", ends - 60 * DAY),
        ("end_period", ends + DAY),
        ("end_grace", ends + 31 * DAY),
    ]


def test_settings_place_the_window_the_reminders_and_the_grace(make_app):
    app = make_app(
        ENDORSEMENT_RENEWAL_WINDOW_DAYS=10,
        ENDORSEMENT_GRACE_DAYS=5,
        ENDORSEMENT_REMINDER_DAYS=(3,),
        ENDORSEMENT_GRACE_REMINDER_DAYS=(2,),
    )
    number = endorse(app, name="Tess Tight", email="tess@example.org")
    ends = endorsement(app, number)[1]
    for today in (ends - 11 * DAY, ends - 10 * DAY, ends - 4 * DAY, ends - 3 * DAY, ends + DAY, ends + 2 * DAY):
        run(app, today)
    assert run(app, ends + 5 * DAY) == 0 and endorsement(app, number)[0] is S.GRACE
    assert run(app, ends + 6 * DAY) == 1 and endorsement(app, number)[0] is S.LAPSED
    assert templates_to(app, "tess@example.org") == [
        "endorsement_renewal_open",
        "endorsement_renewal_reminder",
        "endorsement_grace",
        "endorsement_grace_reminder",
        "endorsement_lapsed",
    ]


def test_an_endorsement_whose_email_cannot_be_built_does_not_stop_the_others(app):
    today = utc_today()
    with app.app_context():
        broken = EndorsementFactory(holder=make_user(email="broken@example.org"), period_ends_on=today + 60 * DAY)
        fine = EndorsementFactory(holder=make_user(email="fine@example.org"), period_ends_on=today + 60 * DAY)
        broken.holder.email = "broken@example.org\r\nBcc: everyone@example.org"  # no e-mail can carry it
        db.session.commit()
        broken_id, fine_id = broken.id, fine.id
        outcome = run_annual_cycle(today)
        assert (outcome.notices, outcome.failed) == (1, 1)
        db.session.expire_all()
        # The broken one is rolled back whole (no transition, no notice), to be tried again next run.
        assert db.session.get(Endorsement, broken_id).status is S.ACTIVE
        assert db.session.get(Endorsement, fine_id).status is S.RENEWAL_DUE
        kinds = db.session.execute(sa.select(EndorsementNotice.endorsement_id, EndorsementNotice.kind)).all()
        assert [tuple(row) for row in kinds] == [(fine_id, "renewal_open")]
    assert templates_to(app, "fine@example.org") == ["endorsement_renewal_open"]


def test_racing_workers_send_each_notice_once(make_app, postgres_schema):
    if postgres_schema is None:
        require("PostgreSQL", "workers racing for a job need a database that several processes share")
    app = make_app()
    today = utc_today()
    with app.app_context():
        for n in range(5):
            # Windows that opened today, and reminders due today.
            EndorsementFactory(holder=make_user(email=f"racer{n}@example.org"), period_ends_on=today + 60 * DAY)
            EndorsementFactory(holder=make_user(email=f"due{n}@example.org"), period_ends_on=today + 7 * DAY)
        db.session.commit()
        [job] = [job for job in registered_jobs() if job.name == "endorsement_cycle"]
    now = utcnow()

    def worker(at: datetime = now):
        with app.app_context():
            try:
                return run_due_jobs(now=at, jobs=(job,))
            finally:
                db.session.remove()

    for at in (now, now + timedelta(minutes=60)):  # two periods of the job, six workers each
        ran = run_together(*[lambda at=at: worker(at) for _ in range(6)])
        assert sorted(map(len, ran)) == [0] * 5 + [1], ran
    with app.app_context():
        counts = db.session.execute(
            sa.select(OutboxEmail.to_address, sa.func.count())
            .where(OutboxEmail.template.startswith("endorsement_"))
            .group_by(OutboxEmail.to_address)
        ).all()
        # Ten endorsements whose window is open on the first run (five opened today, five a while ago):
        # one notice each, and none again in the next period of the same day.
        assert sorted(dict(counts).values()) == [1] * 10
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EndorsementNotice)) == 10


def test_the_job_is_registered_with_its_interval(app):
    with app.app_context():
        [job] = [job for job in registered_jobs() if job.name == "endorsement_cycle"]
        assert job.period() == timedelta(minutes=app.config["ENDORSEMENT_JOBS_INTERVAL_MINUTES"]) == timedelta(hours=1)


def test_the_dashboard_says_when_the_window_opens_while_active(app):
    number = endorse(app, name="Nora New", email="nora@example.org")
    ends = endorsement(app, number)[1]
    page = logged_in(app, "nora@example.org").get("/dashboard").get_data(as_text=True)
    assert f"The renewal window opens on {(ends - 60 * DAY).strftime('%d %B %Y')}" in page


def test_a_window_opened_late_sends_no_reminder_for_a_day_before_its_notice(app):
    number = endorse(app, name="Wes Window", email="wes@example.org")
    ends = endorsement(app, number)[1]
    assert run(app, ends - 20 * DAY) == 1  # the 30-day reminder's day passed before the window was opened
    assert run(app, ends - 19 * DAY) == 0
    assert run(app, ends - 7 * DAY) == 1
    assert templates_to(app, "wes@example.org") == ["endorsement_renewal_open", "endorsement_renewal_reminder"]


def test_a_closed_account_gets_no_email_but_its_endorsement_still_moves(app):
    number = endorse(app, name="Cleo Closed", email="cleo@example.org")
    ends = endorsement(app, number)[1]
    with app.app_context():
        holder = db.session.scalars(sa.select(Endorsement).where(Endorsement.number == number)).one().holder
        holder.deactivated_at = utcnow()
        db.session.commit()
    assert run(app, ends - 60 * DAY) == 0
    assert run(app, ends + 31 * DAY) == 0
    assert endorsement(app, number)[0] is S.LAPSED
    assert templates_to(app, "cleo@example.org") == []
