"""Opening an application: credential, category, track, fees, and the one-credential rule."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from refportal.accounts.models import Role
from refportal.applications.categories import Credential, MentorTrack
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.db import utcnow
from refportal.extensions import db
from tests.factories import declare_current_membership, make_application, make_user


def applicant(app, browser, **kwargs):
    with app.app_context():
        user = make_user(**kwargs)
    browser.login(user.email)
    return user


def applications(app):
    with app.app_context():
        return list(db.session.scalars(sa.select(Application).order_by(Application.id)))


def open_app(browser, credential="imh-e", category="2", mentor_track=""):
    return browser.submit(
        "/applications/new", {"credential": credential, "category": category, "mentor_track": mentor_track}
    )


def test_the_new_application_page_shows_the_fee_schedule(app, browser):
    applicant(app, browser)
    body = browser.get("/applications/new").get_data(as_text=True)
    # Totals per category with membership (90/125/275/375) and for a current member (40/75/225/325).
    for total in ("90", "125", "275", "375", "40", "75", "225", "325"):
        assert f">{total}<" in body, total


def test_opening_an_application_shows_its_category_name_and_fees(app, browser):
    applicant(app, browser)
    response = open_app(browser, credential="ecmh-e", category="2")
    assert response.status_code == 302
    [application] = applications(app)
    assert (application.credential, application.category, application.status) == (
        Credential.ECMH_E,
        2,
        ApplicationStatus.DRAFT,
    )
    body = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Early Childhood Family Specialist" in body
    fees = body[body.index('id="fees"') :]
    assert "Processing fee" in fees and "Membership in the association" in fees
    assert "Still to pay" in fees and "<strong>$125.00</strong>" in fees


def test_a_mentor_chooses_a_track(app, browser):
    applicant(app, browser)
    response = open_app(browser, category="4")
    assert "Mentors choose a track" in response.get_data(as_text=True)
    assert applications(app) == []
    response = open_app(browser, category="4", mentor_track="research")
    [application] = applications(app)
    assert application.mentor_track is MentorTrack.RESEARCH
    assert "Infant Mental Health Mentor – Research/Faculty" in browser.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_a_track_is_ignored_outside_category_4(app, browser):
    applicant(app, browser)
    open_app(browser, category="3", mentor_track="clinical")
    [application] = applications(app)
    assert application.mentor_track is None


def test_missing_or_unknown_choices_are_refused(app, browser):
    applicant(app, browser)
    body = open_app(browser, credential="", category="").get_data(as_text=True)
    assert "Choose the credential you apply for." in body and "Choose a category." in body
    body = open_app(browser, credential="phd", category="9").get_data(as_text=True)
    assert "Not a valid choice" in body
    assert applications(app) == []


def test_a_second_active_application_is_refused(app, browser):
    applicant(app, browser)
    open_app(browser)
    response = open_app(browser, credential="ecmh-e", category="1")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "You already have an active application" in body and "One application at a time" in body
    assert len(applications(app)) == 1


def test_the_other_credential_is_refused_within_a_year_of_the_decision(app, browser):
    user = applicant(app, browser)
    decided = utcnow() - timedelta(days=100)
    with app.app_context():
        make_application(user, credential=Credential.IMH_E, status=ApplicationStatus.ENDORSED, decided_at=decided)
    body = open_app(browser, credential="ecmh-e").get_data(as_text=True)
    allowed_from = (decided + timedelta(days=365)).strftime("%d %B %Y")
    assert f"You can apply for the ECMH-E from {allowed_from}" in body
    assert len(applications(app)) == 1


def test_the_other_credential_is_allowed_after_the_wait(app, browser):
    user = applicant(app, browser)
    with app.app_context():
        make_application(
            user,
            credential=Credential.IMH_E,
            status=ApplicationStatus.ENDORSED,
            decided_at=utcnow() - timedelta(days=366),
        )
    assert open_app(browser, credential="ecmh-e").status_code == 302
    assert len(applications(app)) == 2


def test_the_wait_is_configurable(make_app):
    app = make_app(OTHER_CREDENTIAL_WAIT_DAYS=30)
    from tests.web import Browser

    browser = Browser(app.test_client())
    user = applicant(app, browser)
    with app.app_context():
        make_application(
            user, credential=Credential.IMH_E, status=ApplicationStatus.DENIED, decided_at=utcnow() - timedelta(days=31)
        )
    assert open_app(browser, credential="ecmh-e").status_code == 302


def test_the_same_credential_may_be_applied_for_again_after_a_decision(app, browser):
    user = applicant(app, browser)
    with app.app_context():
        make_application(
            user,
            credential=Credential.IMH_E,
            status=ApplicationStatus.DEFERRED,
            decided_at=utcnow() - timedelta(days=10),
        )
    assert open_app(browser, credential="imh-e", category="3").status_code == 302


def test_withdrawing_frees_the_applicant_to_open_another(app, browser):
    applicant(app, browser)
    location = open_app(browser).headers["Location"]
    response = browser.submit(f"{location}/withdraw", {}, form_url=location)
    assert response.status_code == 302
    assert applications(app)[0].status is ApplicationStatus.WITHDRAWN
    assert open_app(browser, credential="ecmh-e").status_code == 302


def test_membership_fee_is_waived_for_a_current_member(app, browser):
    user = applicant(app, browser)
    with app.app_context():
        application = make_application(user, category=3)
        declare_current_membership(application)
        url = f"/applications/{application.id}"
    body = browser.get(url).get_data(as_text=True)
    fees = body[body.index('id="fees"') :]
    assert "Membership in the association" not in fees and "<strong>$225.00</strong>" in fees


def test_fees_follow_the_configured_schedule(make_app):
    schedule = {
        "currency": "EUR",
        "membership": {1: 1, 2: 2, 3: 3, 4: 4},
        "application": {1: 10, 2: 20, 3: 30, 4: 40},
        "processing": {1: 100, 2: 200, 3: 300, 4: 400},
    }
    app = make_app(FEE_SCHEDULE=schedule)
    from tests.web import Browser

    browser = Browser(app.test_client())
    user = applicant(app, browser)
    with app.app_context():
        application = make_application(user, category=2)
    body = browser.get(f"/applications/{application.id}").get_data(as_text=True)
    assert "Your fees (EUR)" in body and "<strong>€222.00</strong>" in body


def test_reviewers_cannot_open_applications(app, browser):
    applicant(app, browser, role=Role.REVIEWER)
    assert browser.get("/applications/new").status_code == 404


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/applications/new")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
