"""The application file: details, matrix, chart, flags, verification, reviews, decisions, audit, export."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from refportal.applications.categories import Credential
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.db import utcnow
from refportal.extensions import db
from refportal.membership.models import MembershipStatus, VerificationSource
from refportal.reviews.file_page import READINGS_SHOWN
from refportal.reviews.models import Review
from tests.builders import logged_in

READ = AuditAction.FILE_RATINGS_READ


def url(people, suffix=""):
    return f"/review/applications/{people['application_id']}{suffix}"


def stored(app, people) -> Application:
    with app.app_context():
        application = db.session.get(Application, people["application_id"])
        _ = application.membership, application.applicant
        db.session.expunge_all()
        return application


def test_the_file_shows_the_matrix_chart_flags_and_audit_trail(app, people):
    body = logged_in(app, "rev@example.org").get(url(people)).get_data(as_text=True)
    # Ratings 5, 4 and 3 everywhere: per-domain mean of counted references 4.00.
    assert body.count(">5.00<") == 8 and body.count(">3.00<") == 8 and body.count("<strong>4.00</strong>") == 8
    assert "<svg" in body and 'role="img"' in body and body.count('<rect class="series-') == 24
    assert "None of the referees is endorsed" in body and "The membership is declared, not verified." in body
    assert "Strengths by Hana Ito" in body and "Signed “Lena Berg”" in body
    for action in ("reference.nominated", "reference.requests_sent", "reference.submitted", "application.submitted"):
        assert action in body, action
    assert "Applicant A" in body and "Early Childhood" not in body


def test_the_audit_trail_lists_every_change_and_the_latest_readings_of_the_ratings(app, people):
    browser = logged_in(app, "rev@example.org")
    first = browser.get(url(people)).get_data(as_text=True)  # each drawing of the ratings is a reading
    assert "earlier ones are kept" not in first and "file.ratings_read" in first
    for _ in range(READINGS_SHOWN + 4):
        browser.get(url(people))
    body = browser.get(url(people)).get_data(as_text=True)
    trail = body[body.index('id="audit-title"') :]
    assert f"the latest {READINGS_SHOWN} are listed; 6 earlier ones are kept" in trail
    assert trail.count("file.ratings_read") == READINGS_SHOWN
    for action in ("reference.nominated", "reference.submitted", "application.submitted"):
        assert action in trail, action  # the changes stay, however often the file is read
    with app.app_context():
        kept = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == READ))
    assert kept == READINGS_SHOWN + 6


def test_a_refused_form_draws_the_file_again_and_that_reading_is_recorded(app, people):
    browser = logged_in(app, "rev@example.org")
    browser.get(url(people))

    def readings():
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == READ))

    before = readings()
    response = browser.submit(url(people, "/membership"), {"verdict": "reject", "note": ""}, form_url=url(people))
    assert response.status_code == 400 and "Strengths by" in response.get_data(as_text=True)
    assert readings() == before + 2  # the form's page, then the refused form's page


def test_verifying_the_membership_records_who_and_when(app, people):
    browser = logged_in(app, "rev@example.org")
    response = browser.submit(
        url(people, "/membership"), {"verdict": "verify", "note": "Checked the roster by phone"}, form_url=url(people)
    )
    assert response.status_code == 302
    membership = stored(app, people).membership
    assert membership.status is MembershipStatus.VERIFIED and membership.verified_at
    assert membership.verification_source is VerificationSource.REVIEWER
    assert membership.verification_note == "Checked the roster by phone"
    body = browser.get(url(people)).get_data(as_text=True)
    assert "membership.verified" in body and "Rita Reviewer" in body
    assert "waiting for verification" not in body


def test_rejecting_needs_a_note(app, people):
    browser = logged_in(app, "rev@example.org")
    response = browser.submit(url(people, "/membership"), {"verdict": "reject", "note": ""}, form_url=url(people))
    assert response.status_code == 400 and "Say why the membership is rejected" in response.get_data(as_text=True)
    assert stored(app, people).membership.status is MembershipStatus.DECLARED


def review(browser, people, outcome, message="", notes=""):
    return browser.submit(
        url(people, "/review"), {"outcome": outcome, "notes": notes, "message": message}, form_url=url(people)
    )


def test_two_agreeing_reviewers_decide_and_the_applicant_is_told(app, people, outbox):
    assert review(logged_in(app, "rev@example.org"), people, "endorse", notes="Strong file").status_code == 302
    assert stored(app, people).status is ApplicationStatus.SUBMITTED
    assert review(logged_in(app, "rev2@example.org"), people, "endorse").status_code == 302
    application = stored(app, people)
    assert application.status is ApplicationStatus.ENDORSED and application.decided_at
    [email] = outbox(to="a@example.org")[-1:]
    assert email.subject == "Your IMH-E endorsement is granted"
    body = logged_in(app, "admin@example.org").get(url(people)).get_data(as_text=True)
    assert "Strong file" in body and "consensus: True" in body


def test_a_reviewer_can_change_their_review_and_disagreement_decides_nothing(app, people):
    rita = logged_in(app, "rev@example.org")
    review(rita, people, "deny")
    review(rita, people, "endorse")
    review(logged_in(app, "rev2@example.org"), people, "deny")
    assert stored(app, people).status is ApplicationStatus.SUBMITTED
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Review.id))) == 2


def test_consensus_can_be_turned_off(app, people):
    app.config["REVIEW_AUTO_DECIDE"] = False
    review(logged_in(app, "rev@example.org"), people, "endorse")
    review(logged_in(app, "rev2@example.org"), people, "endorse")
    assert stored(app, people).status is ApplicationStatus.SUBMITTED


def test_more_information_needs_a_message_then_reopens_the_application(app, people, outbox):
    rita = logged_in(app, "rev@example.org")
    response = review(rita, people, "more_information")
    assert response.status_code == 400 and "Write the message for the applicant" in response.get_data(as_text=True)
    admin = logged_in(app, "admin@example.org")
    response = admin.submit(
        url(people, "/decision"),
        {"decision-outcome": "more_information", "decision-message": "Please add your training certificates."},
        form_url=url(people),
    )
    assert response.status_code == 302
    application = stored(app, people)
    assert application.status is ApplicationStatus.MORE_INFO_REQUESTED and application.review_cycle == 2
    assert application.decided_at is None
    email = outbox(to="a@example.org")[-1]
    assert "More information is needed" in email.subject and "training certificates" in email.body_text
    # The applicant sees the message, changes something and submits again.
    applicant = logged_in(app, "a@example.org")
    page = applicant.get(f"/applications/{people['application_id']}").get_data(as_text=True)
    assert "training certificates" in page
    assert applicant.submit(f"/applications/{people['application_id']}/submit", {"attest": "y"}).status_code == 302
    assert stored(app, people).status is ApplicationStatus.SUBMITTED


def test_the_admin_decision_sets_the_date_the_one_credential_rule_uses(app, people):
    admin = logged_in(app, "admin@example.org")
    admin.submit(
        url(people, "/decision"), {"decision-outcome": "endorse", "decision-message": ""}, form_url=url(people)
    )
    application = stored(app, people)
    assert application.status is ApplicationStatus.ENDORSED
    assert abs(application.decided_at - utcnow()) < timedelta(minutes=1)
    applicant = logged_in(app, "a@example.org")
    response = applicant.submit(
        "/applications/new", {"credential": Credential.ECMH_E.value, "category": "2", "mentor_track": ""}
    )
    assert "You can apply for the ECMH-E from" in response.get_data(as_text=True)


def test_a_decided_application_takes_no_more_reviews(app, people):
    logged_in(app, "admin@example.org").submit(
        url(people, "/decision"), {"decision-outcome": "deny", "decision-message": ""}, form_url=url(people)
    )
    rita = logged_in(app, "rev@example.org")
    token_page = rita.get(url(people)).get_data(as_text=True)
    assert "Your review" not in token_page
    from tests.web import csrf_token_from

    response = rita.client.post(
        url(people, "/review"), data={"csrf_token": csrf_token_from(token_page), "outcome": "endorse"}
    )
    assert response.status_code == 400 and "Only a submitted application" in response.get_data(as_text=True)


def test_the_ratings_export_parses_back_to_the_stored_answers(app, people):
    response = logged_in(app, "rev@example.org").get(url(people, "/ratings.csv"))
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 3 * 19
    by_referee = {}
    for row in rows:
        by_referee.setdefault(row["referee"], set()).add(row["answer"])
    assert by_referee == {"Hana Ito": {"5"}, "Omar Haddad": {"4"}, "Lena Berg": {"3"}}
    assert {row["counts"] for row in rows} == {"True"}


def test_the_file_has_a_print_button_and_stylesheet(app, people):
    body = logged_in(app, "rev@example.org").get(url(people)).get_data(as_text=True)
    assert "data-print" in body and re.search(r'<script src="/static/print.js">', body)
    css = app.test_client().get("/static/portal.css").get_data(as_text=True)
    assert "@media print" in css


def test_a_referee_endorsed_through_this_portal_is_confirmed_on_the_file(app, people):
    from refportal.applications.categories import Credential
    from refportal.applications.lifecycle import ApplicationStatus
    from refportal.db import utcnow
    from tests.factories import make_application, make_user

    with app.app_context():
        hana = make_user(email="hana@example.net", name="Hana Ito")
        make_application(
            hana, credential=Credential.ECMH_E, category=3, status=ApplicationStatus.ENDORSED, decided_at=utcnow()
        )
    page = (
        logged_in(app, "rev@example.org").get(f"/review/applications/{people['application_id']}").get_data(as_text=True)
    )
    assert "endorsed ECMH-E category 3, confirmed by this portal's records" in page
    assert page.count("confirmed by this portal") == 1  # Omar and Lena are not users here
    assert "Rating dated" in page and "(rule: " in page


@pytest.mark.parametrize(
    "status",
    [ApplicationStatus.ENDORSED, ApplicationStatus.DEFERRED, ApplicationStatus.DENIED, ApplicationStatus.WITHDRAWN],
)
@pytest.mark.parametrize("verdict", ["verify", "reject"])
def test_a_decided_or_withdrawn_applications_membership_is_not_changed(app, people, status, verdict):
    with app.app_context():
        db.session.get(Application, people["application_id"]).status = status
        db.session.commit()
    before = stored(app, people).membership
    browser = logged_in(app, "admin@example.org")
    page = browser.get(url(people)).get_data(as_text=True)
    assert f"This application is {status.value}: its membership is no longer verified or rejected." in page
    assert url(people, "/membership") not in page  # no form
    response = browser.submit(
        url(people, "/membership"), {"verdict": verdict, "note": "Late check"}, form_url=url(people)
    )
    assert response.status_code == 400
    assert f"This application is {status.value}: its membership can no longer be verified or rejected." in (
        response.get_data(as_text=True)
    )
    after = stored(app, people).membership
    assert (after.status, after.verified_at, after.verification_note) == (MembershipStatus.DECLARED, None, None)
    assert (before.status, before.verified_at) == (after.status, after.verified_at)
