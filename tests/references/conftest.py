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


@pytest.fixture
def sent(applicant_app, browser):
    """The ready application with its three referees nominated and asked."""
    from tests.references.helpers import nominate_three, send_requests

    nominate_three(browser, applicant_app.id)
    send_requests(browser, applicant_app.id)
    return applicant_app


@pytest.fixture
def sam_link(sent, outbox):
    """The rating-form path from the request e-mail to the first referee."""
    from tests.references.helpers import referee_path

    return referee_path(outbox, "sam@example.net")
