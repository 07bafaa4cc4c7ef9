from __future__ import annotations

import pytest

from tests.builders import ready_applicant


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
