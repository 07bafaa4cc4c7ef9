from __future__ import annotations

import pytest

from tests.factories import declare_current_membership, make_application, make_user, record_eligibility


@pytest.fixture
def applicant_app(app, browser):
    """A logged-in applicant with an eligible category 2 IMH-E application and a declared membership."""
    with app.app_context():
        user = make_user(email="applicant@example.org", name="Avery Applicant")
        application = make_application(user, category=2)
        record_eligibility(application)
        declare_current_membership(application)
    browser.login("applicant@example.org")
    return application
