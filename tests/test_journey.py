"""The foundation's whole path as a person takes it, through the pages and the mail viewer."""

from __future__ import annotations

import re
from datetime import timedelta

from refportal.db import utc_today
from tests.portfolio.helpers import enter_evidence
from tests.web import link_in

PASSWORD = "a long journey pass phrase"


def test_register_verify_open_an_application_and_see_the_checklist(browser):
    # Register; the verification e-mail is read in the mail viewer and its link followed.
    response = browser.submit(
        "/register", {"name": "Jo Rivera", "email": "jo@example.org", "password": PASSWORD, "confirm": PASSWORD}
    )
    assert "Check your e-mail" in response.get_data(as_text=True)
    inbox = browser.get("/dev/mail/").get_data(as_text=True)
    message = browser.get(re.search(r'href="(/dev/mail/\d+)"', inbox).group(1)).get_data(as_text=True)
    assert browser.submit(link_in(message, "/verify-email/"), {}).status_code == 302
    browser.login("jo@example.org", PASSWORD)

    # Fees before creating, then the application.
    new_page = browser.get("/applications/new").get_data(as_text=True)
    assert "Total if already a current member" in new_page
    response = browser.submit("/applications/new", {"credential": "imh-e", "category": "3", "mentor_track": ""})
    application_url = response.headers["Location"]
    page = browser.get(application_url).get_data(as_text=True)
    assert "Infant Mental Health Specialist" in page and "<strong>$275.00</strong>" in page  # still to pay

    # Eligibility and membership.
    enter_evidence(browser, application_url, level="master", training_hours="36", rsc_hours="52")
    browser.submit(
        f"{application_url}/membership",
        {
            "kind": "current_member",
            "association": "infancy_onward",
            "association_name": "",
            "member_number": "IO-9",
            "expires_on": (utc_today() + timedelta(days=90)).isoformat(),
        },
    )
    page = browser.get(application_url).get_data(as_text=True)
    assert page.count(">Met<") == 3 and "<strong>$225.00</strong>" in page  # no membership fee for a member

    dashboard = browser.get("/dashboard").get_data(as_text=True)
    assert "Eligibility</strong>: Every requirement is met" in dashboard
    assert "Membership</strong>: INfancy Onward: declared" in dashboard
    assert "References</strong>: Not yet nominated (0 of 3)" in dashboard

    # A second application is refused with its reason.
    refused = browser.submit("/applications/new", {"credential": "ecmh-e", "category": "1", "mentor_track": ""})
    assert "You already have an active application" in refused.get_data(as_text=True)
