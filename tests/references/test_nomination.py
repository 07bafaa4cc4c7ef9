"""Nominating the three referees and sending the requests."""

from __future__ import annotations

import pytest

from refportal.references.models import ReferenceStatus
from refportal.references.roles import RefereeRole
from tests.references.helpers import REFEREES, nominate, nominate_three, references, send_requests


def test_nominating_three_and_sending_the_requests(app, browser, outbox, applicant_app):
    nominate_three(browser, applicant_app.id)
    assert [r.status for r in references(app)] == [ReferenceStatus.NOMINATED] * 3
    assert outbox() == []  # nothing is sent before "Send the requests"
    response = send_requests(browser, applicant_app.id)
    assert response.status_code == 302
    assert [r.status for r in references(app)] == [ReferenceStatus.INVITED] * 3
    sent = {email.to_address: email for email in outbox()}
    assert set(sent) == {r["email"] for r in REFEREES}
    request = sent["sam@example.net"]
    assert request.subject == "Reference request: Avery Applicant, IMH-E"
    for text in (request.body_text, request.body_html):
        assert "Avery Applicant" in text and "Infant Family Specialist" in text
        assert "15 minutes" in text and "Please answer by" in text and "Reflection" in text
        assert "https://portal.example.test/r/" in text and "/decline" in text
        assert "endorsement@example.org" in text
        assert "waived the right to see your answers" in text


def test_a_reference_stores_every_detail(app, browser, applicant_app):
    nominate(
        browser, applicant_app.id, endorsed_credential="imh-e", endorsed_category="3", waived="no", known_years="2.5"
    )
    [reference] = references(app)
    assert (reference.name, reference.email, reference.organisation, reference.role, reference.setting) == (
        "Sam Supervisor",
        "sam@example.net",
        "Riverside Family Services",
        RefereeRole.SUPERVISOR,
        "Home visiting program",
    )
    assert (str(reference.known_years), reference.endorsed_category, reference.waived) == ("2.5", 3, False)


def refused(app, browser, applicant_app, message, **changes):
    before = len(references(app))
    response = nominate(browser, applicant_app.id, **changes)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert message in body, body
    assert len(references(app)) == before


def test_the_applicants_own_email_is_refused(app, browser, applicant_app):
    refused(app, browser, applicant_app, "You cannot be your own referee", email="Applicant@Example.org")


def test_the_same_referee_twice_is_refused(app, browser, applicant_app):
    nominate(browser, applicant_app.id)
    refused(
        app,
        browser,
        applicant_app,
        "already one of your references",
        name="Sam Again",
        email="SAM@example.net",
        role="rsc_provider",
    )


def test_a_malformed_email_is_refused(app, browser, applicant_app):
    refused(app, browser, applicant_app, "Enter a valid e-mail address", email="sam@@example")


@pytest.mark.parametrize(
    "field, value", [("name", "Sam\r\nBcc: x@example.org"), ("email", "sam@example.net\r\nBcc: x@example.org")]
)
def test_line_breaks_are_refused(app, browser, applicant_app, field, value):
    refused(app, browser, applicant_app, "line break" if field == "email" else "without line breaks", **{field: value})


def test_a_fourth_reference_is_refused(app, browser, applicant_app):
    nominate_three(browser, applicant_app.id)
    # The page offers no fourth form; a hand-made POST is refused all the same.
    from tests.references.helpers import nomination
    from tests.web import csrf_token_from

    page = browser.get(f"/applications/{applicant_app.id}/references/").get_data(as_text=True)
    assert "Nominate referee" not in page
    response = browser.client.post(
        f"/applications/{applicant_app.id}/references/",
        data={"csrf_token": csrf_token_from(page), **nomination(email="four@example.net")},
    )
    assert "exactly three references" in response.get_data(as_text=True)
    assert len(references(app)) == 3


def test_a_role_not_offered_for_the_category_is_refused(app, browser, applicant_app):
    refused(app, browser, applicant_app, "Not a valid choice", role="rsc_recipient")


def test_the_category_role_rules_are_enforced_as_the_list_fills(app, browser, applicant_app):
    nominate(browser, applicant_app.id, name="C One", email="c1@example.net", role="colleague")
    # Category 2 needs a supervisor and an RSC provider: a second colleague would leave one slot for two needs.
    refused(
        app,
        browser,
        applicant_app,
        "your three referees must include",
        name="C Two",
        email="c2@example.net",
        role="colleague",
    )
    nominate(browser, applicant_app.id, name="S", email="s@example.net", role="supervisor")
    refused(
        app,
        browser,
        applicant_app,
        "your reflective supervision/consultation provider",
        name="C Three",
        email="c3@example.net",
        role="colleague",
    )


def test_endorsement_needs_credential_and_category_together(app, browser, applicant_app):
    refused(app, browser, applicant_app, "and its category, or neither", endorsed_credential="imh-e")


def test_requests_need_three_referees(app, browser, applicant_app):
    nominate(browser, applicant_app.id)
    url = f"/applications/{applicant_app.id}/references/"
    response = browser.submit(f"{url}send", {}, form_url=url, follow_redirects=True)
    assert "Nominate three referees before sending the requests (1 of 3 so far)" in response.get_data(as_text=True)


def test_a_nomination_can_be_removed_before_it_is_sent(app, browser, applicant_app):
    nominate(browser, applicant_app.id)
    [reference] = references(app)
    url = f"/applications/{applicant_app.id}/references/"
    assert browser.submit(f"{url}{reference.id}/remove", {}, form_url=url).status_code == 302
    assert references(app) == []


def test_other_applicants_cannot_see_or_touch_references(app, browser, applicant_app):
    nominate(browser, applicant_app.id)
    [reference] = references(app)
    browser.logout()
    from tests.factories import make_user

    with app.app_context():
        make_user(email="other@example.org")
    browser.login("other@example.org")
    base = f"/applications/{applicant_app.id}/references/"
    for url in (base, f"{base}{reference.id}", f"{base}{reference.id}/email", f"{base}{reference.id}/replace"):
        assert browser.get(url).status_code == 404, url


def test_the_applicant_is_told_when_none_of_three_is_endorsed(app, browser, applicant_app):
    from tests.references.helpers import nominate_three

    notice = "None of your three referees is recorded as endorsed"
    nominate_three(browser, applicant_app.id)  # category 2, none endorsed
    page = browser.get(f"/applications/{applicant_app.id}/references/").get_data(as_text=True)
    assert notice in page and "before sending the requests" in page


def test_no_endorsement_notice_when_one_is_endorsed(app, browser, applicant_app):
    from tests.references.helpers import REFEREES, nominate

    for index, referee in enumerate(REFEREES):
        endorsed = {"endorsed_credential": "imh-e", "endorsed_category": "3"} if index == 0 else {}
        assert nominate(browser, applicant_app.id, **referee, **endorsed).status_code == 302
    page = browser.get(f"/applications/{applicant_app.id}/references/").get_data(as_text=True)
    assert "None of your three referees is recorded as endorsed" not in page
