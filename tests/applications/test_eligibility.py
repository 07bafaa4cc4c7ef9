"""Eligibility recorded as totals (an application from before evidence entries: self-reported); each
requirement of the category shows as met or not. Eligibility from entries: tests/portfolio."""

from __future__ import annotations

from decimal import Decimal

import pytest

from refportal.applications.categories import Credential, EducationLevel, MentorTrack
from refportal.applications.eligibility import evaluate_eligibility, is_eligible
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application, EligibilitySource
from refportal.config import DEFAULT_ELIGIBILITY_REQUIREMENTS
from refportal.db import utcnow
from refportal.extensions import db
from tests.factories import make_application, make_user
from tests.web import csrf_token_from


def recorded(category, education, years, training, rsc, track=None) -> Application:
    return Application(
        credential=Credential.IMH_E,
        category=category,
        mentor_track=track,
        education_level=EducationLevel(education),
        work_years=Decimal(years),
        training_hours=training,
        rsc_hours=rsc,
        eligibility_recorded_at=utcnow(),
    )


@pytest.mark.parametrize(
    "application, met",
    [
        (recorded(1, "cda", "0", 30, 0), [True, True, True]),
        (recorded(1, "high_school", "2", 30, 0), [True, True, True]),  # two years of work instead
        (recorded(1, "high_school", "1.5", 29, 0), [False, False, True]),
        (recorded(2, "bachelor", "1", 30, 24), [True, True, True]),
        (recorded(2, "associate", "9", 30, 23), [False, True, False]),
        (recorded(3, "master", "2", 30, 50), [True, True, True]),
        (recorded(3, "bachelor", "2", 30, 49), [False, True, False]),
        (recorded(4, "doctorate", "10", 48, 50, MentorTrack.CLINICAL), [True, True, True]),
        (recorded(4, "master", "10", 47, 49, MentorTrack.CLINICAL), [True, False, False]),
        (recorded(4, "master", "10", 48, 0, MentorTrack.POLICY), [True, True, True]),
    ],
)
def test_requirements_per_category(application, met):
    checks = evaluate_eligibility(application, DEFAULT_ELIGIBILITY_REQUIREMENTS)
    assert [c.met for c in checks] == met
    assert is_eligible(checks) == all(met)


def test_nothing_recorded_is_neither_met_nor_unmet():
    application = Application(credential=Credential.IMH_E, category=2)
    checks = evaluate_eligibility(application, DEFAULT_ELIGIBILITY_REQUIREMENTS)
    assert [c.met for c in checks] == [None, None, None]
    assert not is_eligible(checks)


def test_thresholds_are_configuration():
    requirements = {
        **DEFAULT_ELIGIBILITY_REQUIREMENTS,
        2: {"education": "bachelor", "training_hours": 60, "rsc_hours": 24},
    }
    checks = evaluate_eligibility(recorded(2, "bachelor", "1", 40, 24), requirements)
    assert [c.met for c in checks] == [True, False, True]
    assert checks[1].required == "at least 60 hours"


@pytest.fixture
def own_application(app, browser):
    with app.app_context():
        user = make_user()
        application = make_application(user, category=3, eligibility_source=EligibilitySource.SELF_REPORTED)
    browser.login(user.email)
    return application


def form(**changes):
    return {"education_level": "master", "work_years": "3.5", "training_hours": "40", "rsc_hours": "55", **changes}


def stored(app, application_id):
    with app.app_context():
        return db.session.get(Application, application_id)


def test_recording_eligibility_shows_each_requirement_as_met(app, browser, own_application):
    url = f"/applications/{own_application.id}/eligibility"
    response = browser.submit(url, form())
    assert response.status_code == 302
    application = stored(app, own_application.id)
    assert (application.education_level, application.work_years, application.training_hours, application.rsc_hours) == (
        EducationLevel.MASTER,
        Decimal("3.5"),
        40,
        55,
    )
    body = browser.get(f"/applications/{own_application.id}").get_data(as_text=True)
    assert body.count(">Met<") == 3
    assert "Every requirement is met" in body


def test_unmet_requirements_are_named(app, browser, own_application):
    browser.submit(f"/applications/{own_application.id}/eligibility", form(rsc_hours="20"))
    body = browser.get(f"/applications/{own_application.id}").get_data(as_text=True)
    assert ">Not met<" in body and "Not met: reflective supervision/consultation received" in body


def test_the_form_shows_what_was_recorded(browser, own_application):
    url = f"/applications/{own_application.id}/eligibility"
    browser.submit(url, form())
    body = browser.get(url).get_data(as_text=True)
    assert 'value="55"' in body and '<option selected value="master">' in body


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"training_hours": "-5"}, "between 0 and 5,000"),
        ({"rsc_hours": "999999"}, "between 0 and 5,000"),
        ({"work_years": "75"}, "between 0 and 60"),
        ({"training_hours": "lots"}, "Not a valid integer value"),
        ({"training_hours": ""}, "Enter your in-service training hours"),
        ({"education_level": ""}, "Choose your highest completed education"),
        ({"education_level": "wizard"}, "Not a valid choice"),
    ],
)
def test_bad_numbers_are_refused_and_nothing_is_saved(app, browser, own_application, changes, message):
    response = browser.submit(f"/applications/{own_application.id}/eligibility", form(**changes))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert stored(app, own_application.id).eligibility_recorded_at is None


def test_a_decided_application_cannot_be_changed(app, browser):
    with app.app_context():
        user = make_user()
        application = make_application(
            user,
            status=ApplicationStatus.DENIED,
            decided_at=utcnow(),
            eligibility_source=EligibilitySource.SELF_REPORTED,
        )
    browser.login(user.email)
    response = browser.submit(f"/applications/{application.id}/eligibility", form())
    assert "can no longer be changed" in response.get_data(as_text=True)
    assert stored(app, application.id).eligibility_recorded_at is None


def test_an_application_reading_entries_has_no_totals_form(app, browser):
    """An application opened since evidence entries is sent to its evidence page; totals posted are refused."""
    with app.app_context():
        user = make_user()
        application = make_application(user, category=3)
    browser.login(user.email)
    url = f"/applications/{application.id}/eligibility"
    response = browser.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/applications/{application.id}/evidence")
    token = csrf_token_from(browser.get(f"/applications/{application.id}").get_data(as_text=True))
    assert browser.client.post(url, data={"csrf_token": token, **form()}).status_code == 302
    assert stored(app, application.id).eligibility_recorded_at is None
