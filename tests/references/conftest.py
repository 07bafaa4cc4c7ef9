from __future__ import annotations

import pytest

from tests.conftest import Browser
from tests.factories import declare_current_membership, make_application, make_user, record_eligibility


def ready_applicant(app):
    """A logged-in applicant (their Browser) with an eligible category 2 IMH-E application and a
    declared membership: everything but the references."""
    with app.app_context():
        user = make_user(email="applicant@example.org", name="Avery Applicant")
        application = make_application(user, category=2)
        record_eligibility(application)
        declare_current_membership(application)
    browser = Browser(app.test_client())
    browser.login("applicant@example.org")
    return browser, application


@pytest.fixture
def applicant_app(app, browser):
    """The ready application, with the test's `browser` logged in as its applicant."""
    _, application = ready_applicant(app)
    browser.login("applicant@example.org")
    return application
