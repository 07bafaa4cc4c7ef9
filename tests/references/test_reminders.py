"""`flask references remind`: the cadence, idempotence, and expiry."""

from __future__ import annotations

from datetime import timedelta

from refportal.db import utcnow
from refportal.extensions import db
from refportal.references.models import Reference, ReferenceStatus
from refportal.references.reminders import run_reminders
from tests.references.helpers import referee_path, references


def run_at(app, days: float) -> tuple[int, int]:
    with app.app_context():
        result = run_reminders(now=utcnow() + timedelta(days=days))
        db.session.commit()
    return result


def test_reminders_follow_the_cadence_and_running_again_sends_nothing(app, outbox, sent):
    link = referee_path(outbox, "sam@example.net")
    assert run_at(app, 3) == (0, 0)
    assert run_at(app, 7.1) == (3, 0)
    assert run_at(app, 7.2) == (0, 0)  # safe to run again
    assert run_at(app, 14.2) == (3, 0)
    assert run_at(app, 20) == (0, 0)  # no third reminder by default
    reminders = [m for m in outbox(to="sam@example.net") if m.subject.startswith("Reminder")]
    assert len(reminders) == 2
    assert referee_path(outbox, "sam@example.net") == link  # the same link every time


def test_answered_references_get_no_reminders(app, outbox, sent):
    from tests.references.helpers import full_answers, submit_rating

    submit_rating(app.test_client(), referee_path(outbox, "sam@example.net"), full_answers())
    assert run_at(app, 7.1) == (2, 0)


def test_links_past_their_age_expire_and_the_applicant_is_told(app, outbox, sent):
    link = referee_path(outbox, "sam@example.net")
    assert run_at(app, 30.01) == (0, 3)
    assert all(r.status is ReferenceStatus.EXPIRED for r in references(app))
    news = [m.subject for m in outbox(to="applicant@example.org")]
    assert "Sam Supervisor's reference link has expired" in news and len(news) == 3
    assert run_at(app, 31) == (0, 0)
    page = app.test_client().get(link)
    assert page.status_code == 410 and "Send me a fresh link" in page.get_data(as_text=True)


def test_the_cadence_is_configurable(app, outbox, sent):
    app.config["REFERENCE_REMINDER_DAYS"] = (2,)
    assert run_at(app, 2.1) == (3, 0)
    assert run_at(app, 14.2) == (0, 0)


def test_the_command_line(app, outbox, sent):
    result = app.test_cli_runner().invoke(args=["references", "remind"])
    assert result.exit_code == 0 and "reminders sent 0, links expired 0" in result.output
    with app.app_context():
        for reference in db.session.query(Reference):
            reference.link_issued_at = utcnow() - timedelta(days=8)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["references", "remind"])
    assert "reminders sent 3, links expired 0" in result.output
