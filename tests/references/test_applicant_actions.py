"""The applicant's actions: reminders, corrected addresses, replacements, submitting the application."""

from __future__ import annotations

from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.extensions import db
from refportal.references.models import Reference, ReferenceStatus
from tests.references.helpers import (
    REFEREES,
    full_answers,
    nomination,
    referee_path,
    references,
    submit_rating,
)


def by_email(app, email) -> Reference:
    return next(r for r in references(app) if r.email == email)


def page(application_id):
    return f"/applications/{application_id}/references/"


def act(browser, application_id, reference_id, action):
    return browser.submit(
        f"{page(application_id)}{reference_id}/{action}", {}, form_url=page(application_id), follow_redirects=True
    )


def test_a_reminder_resends_the_same_working_link(app, browser, outbox, sent):
    link = referee_path(outbox, "sam@example.net")
    reference = by_email(app, "sam@example.net")
    response = act(browser, sent.id, reference.id, "remind")
    assert "A reminder is on its way to Sam Supervisor" in response.get_data(as_text=True)
    reminder = outbox(to="sam@example.net")[-1]
    assert reminder.subject.startswith("Reminder:")
    assert referee_path(outbox, "sam@example.net") == link
    assert app.test_client().get(link).status_code == 200
    assert by_email(app, "sam@example.net").last_reminder_at is not None


def test_a_second_reminder_within_a_day_is_refused(app, browser, outbox, sent):
    reference = by_email(app, "sam@example.net")
    act(browser, sent.id, reference.id, "remind")
    response = act(browser, sent.id, reference.id, "remind")
    assert "The next one can be sent after" in response.get_data(as_text=True)
    assert len(outbox(to="sam@example.net")) == 2  # the request and one reminder


def test_correcting_the_email_revokes_the_old_link_and_sends_a_new_one(app, browser, outbox, sent):
    old_link = referee_path(outbox, "sam@example.net")
    reference = by_email(app, "sam@example.net")
    url = f"{page(sent.id)}{reference.id}/email"
    response = browser.submit(url, {"email": "sam.personal@example.com"})
    assert response.status_code == 302
    old, new = by_email(app, "sam@example.net"), by_email(app, "sam.personal@example.com")
    assert old.status is ReferenceStatus.WITHDRAWN and new.status is ReferenceStatus.INVITED
    assert new.replaces_id == old.id and new.name == old.name and new.role == old.role
    referee = app.test_client()
    revoked = referee.get(old_link)
    assert revoked.status_code == 410 and "This link no longer works" in revoked.get_data(as_text=True)
    assert referee.get(referee_path(outbox, "sam.personal@example.com")).status_code == 200


def test_a_corrected_email_is_checked_like_a_new_one(app, browser, sent):
    reference = by_email(app, "sam@example.net")
    url = f"{page(sent.id)}{reference.id}/email"
    body = browser.submit(url, {"email": "rae@example.net"}).get_data(as_text=True)
    assert "already one of your references" in body
    body = browser.submit(url, {"email": "not an address"}).get_data(as_text=True)
    assert "Enter a valid e-mail address" in body
    assert by_email(app, "sam@example.net").status is ReferenceStatus.INVITED


def test_replacing_a_referee_who_declined(app, browser, outbox, sent):
    link = referee_path(outbox, "cole@example.net")
    referee = app.test_client()
    from tests.web import csrf_token_from

    decline_page = referee.get(f"{link}/decline").get_data(as_text=True)
    referee.post(f"{link}/decline", data={"csrf_token": csrf_token_from(decline_page), "reason": ""})
    declined = by_email(app, "cole@example.net")
    response = browser.submit(
        f"{page(sent.id)}{declined.id}/replace", nomination(name="Nia New", email="nia@example.net", role="colleague")
    )
    assert response.status_code == 302
    old, new = by_email(app, "cole@example.net"), by_email(app, "nia@example.net")
    assert old.status is ReferenceStatus.WITHDRAWN and new.status is ReferenceStatus.INVITED
    assert referee.get(link).status_code == 410
    assert outbox(to="nia@example.net")[-1].subject.startswith("Reference request")


def test_replacing_a_referee_who_never_answered_revokes_their_link(app, browser, outbox, sent):
    link = referee_path(outbox, "rae@example.net")
    reference = by_email(app, "rae@example.net")
    browser.submit(
        f"{page(sent.id)}{reference.id}/replace",
        nomination(name="Ola Other", email="ola@example.net", role="rsc_provider"),
    )
    assert app.test_client().get(link).status_code == 410


def test_a_replacement_must_still_meet_the_role_rules(app, browser, sent):
    reference = by_email(app, "rae@example.net")  # the RSC provider
    body = browser.submit(
        f"{page(sent.id)}{reference.id}/replace", nomination(name="Ola", email="ola@example.net", role="colleague")
    ).get_data(as_text=True)
    assert "your reflective supervision/consultation provider" in body
    assert by_email(app, "rae@example.net").status is ReferenceStatus.INVITED


def test_a_counted_rating_cannot_be_replaced(app, browser, outbox, sent):
    submit_rating(app.test_client(), referee_path(outbox, "sam@example.net"), full_answers())
    reference = by_email(app, "sam@example.net")
    response = browser.get(f"{page(sent.id)}{reference.id}/replace", follow_redirects=True)
    assert "cannot be replaced" in response.get_data(as_text=True)


def test_three_counted_ratings_then_the_application_is_submitted_and_locked(app, browser, outbox, sent):
    for referee in REFEREES:
        submit_rating(
            app.test_client(), referee_path(outbox, referee["email"]), full_answers(attestation_name=referee["name"])
        )
    assert outbox(to="applicant@example.org")[-1].subject == "All three references are in"
    dashboard = browser.get("/dashboard").get_data(as_text=True)
    assert "References</strong>: Three ratings are in" in dashboard and "Ready to submit</strong>: yes" in dashboard
    url = f"/applications/{sent.id}/submit"
    refused = browser.submit(url, {})
    assert "Confirm the statement" in refused.get_data(as_text=True)
    assert browser.submit(url, {"attest": "y"}).status_code == 302
    with app.app_context():
        application = db.session.get(Application, sent.id)
        assert application.status is ApplicationStatus.SUBMITTED and application.submitted_at
    reference = by_email(app, "sam@example.net")
    response = browser.submit(
        f"{page(sent.id)}{reference.id}/email",
        {"email": "x@example.com"},
        form_url=f"{page(sent.id)}{reference.id}/email",
    )
    assert "can no longer be changed" in response.get_data(as_text=True)


def test_submitting_before_the_references_are_in_is_refused(app, browser, sent):
    response = browser.submit(f"/applications/{sent.id}/submit", {"attest": "y"})
    assert "Not ready to submit yet" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Application, sent.id).status is ApplicationStatus.DRAFT


def test_status_dates_are_shown(app, browser, outbox, sent):
    app.test_client().get(referee_path(outbox, "sam@example.net"))
    body = browser.get(page(sent.id)).get_data(as_text=True)
    assert "Opened" in body and "Asked" in body and body.count(">Invited<") == 2
