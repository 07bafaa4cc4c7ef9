"""One page per referee: from any request link, a signed, expiring link to every request sent to
that address — and only that address."""

from __future__ import annotations

import re

import pytest
from itsdangerous import URLSafeTimedSerializer

from tests.factories import declare_current_membership, make_application, make_user, record_eligibility
from tests.references.helpers import (
    REFEREES,
    full_answers,
    nominate,
    referee_path,
    references,
    send_requests,
    submit_rating,
)
from tests.web import Browser, csrf_token_from, link_in

SHARED = "sam@example.net"  # supervises both applicants


def applicant_with_referees(app, email: str, name: str, referees):
    with app.app_context():
        user = make_user(email=email, name=name)
        application = make_application(user, category=2)
        record_eligibility(application)
        declare_current_membership(application)
    browser = Browser(app.test_client())
    browser.login(email)
    for referee in referees:
        assert nominate(browser, application.id, **referee).status_code == 302
    send_requests(browser, application.id)
    return browser, application


@pytest.fixture
def two_requests(make_app):
    """Sam is asked by Avery and by Blake; Rae and Cole only by Avery; Dana only by Blake."""
    app = make_app(REFERENCE_FRESH_LINK_INTERVAL_MINUTES=0)
    applicant_with_referees(app, "avery@example.org", "Avery Applicant", REFEREES)
    blake = [
        REFEREES[0],
        {"name": "Dana Provider", "email": "dana@example.net", "role": "rsc_provider"},
        {"name": "Eli League", "email": "eli@example.net", "role": "colleague"},
    ]
    applicant_with_referees(app, "blake@example.org", "Blake Applicant", blake)
    return app


def ask_for_page(app, request_path: str):
    referee = app.test_client()
    page = referee.get(f"{request_path}/my-requests")
    assert page.status_code == 200 and "/my-requests" in page.get_data(as_text=True)
    return referee.post(
        f"{request_path}/my-requests", data={"csrf_token": csrf_token_from(page.get_data(as_text=True))}
    )


def page_link(outbox, address: str) -> str:
    message = [m for m in outbox(to=address) if m.template == "referee_requests_link"][-1]
    return link_in(message.body_text, "/r/requests/")


def test_a_referee_with_two_requests_sees_both_and_only_theirs(two_requests, outbox):
    app = two_requests
    request_path = referee_path(outbox, SHARED)  # Blake's request, the newest
    assert "/r/" in outbox(to=SHARED)[0].body_text and "my-requests" in outbox(to=SHARED)[0].body_text

    sent = ask_for_page(app, request_path)
    assert sent.status_code == 200 and "The link is on its way" in sent.get_data(as_text=True)
    page = app.test_client().get(page_link(outbox, SHARED))
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Avery Applicant" in body and "Blake Applicant" in body
    assert body.count('class="card"') == 2 and body.count("Open the rating form") == 2
    for other in ("rae@example.net", "dana@example.net", "Rae Provider"):
        assert other not in body

    # Both links on the page are the working request links; answering one shows it completed.
    links = re.findall(r'href="(/r/[^"/]+)"', body)
    assert len(links) == 2
    submit_rating(app.test_client(), links[0], full_answers())
    again = app.test_client().get(page_link(outbox, SHARED)).get_data(as_text=True)
    assert "Completed" in again and again.count("Open the rating form") == 1


def test_a_newer_page_link_revokes_the_older_and_old_links_expire(two_requests, outbox):
    app = two_requests
    request_path = referee_path(outbox, SHARED)
    ask_for_page(app, request_path)
    first = page_link(outbox, SHARED)
    ask_for_page(app, request_path)
    second = page_link(outbox, SHARED)
    assert first != second
    assert app.test_client().get(first).status_code == 400
    assert app.test_client().get(second).status_code == 200

    with app.app_context():
        app.config["REFEREE_PAGE_MAX_AGE"] = -1  # every link is past its age
    expired = app.test_client().get(second)
    assert expired.status_code == 410 and "This link has expired" in expired.get_data(as_text=True)


def test_forged_links_show_a_clear_page(two_requests, outbox):
    app = two_requests
    forged = URLSafeTimedSerializer("not the key", salt="referee-requests").dumps({"email": SHARED, "v": 1})
    response = app.test_client().get(f"/r/requests/{forged}")
    assert response.status_code == 400 and "This link is not valid" in response.get_data(as_text=True)
    rating_token = referee_path(outbox, SHARED).removeprefix("/r/")  # another purpose's token
    assert app.test_client().get(f"/r/requests/{rating_token}").status_code == 400
    assert app.test_client().post(f"/r/{rating_token}x/my-requests").status_code == 400


def test_asking_again_too_soon_is_refused_and_sends_nothing(make_app, outbox):
    app = make_app()
    applicant_with_referees(app, "avery@example.org", "Avery Applicant", REFEREES)
    request_path = referee_path(outbox, SHARED)
    assert ask_for_page(app, request_path).status_code == 200
    again = ask_for_page(app, request_path)
    assert again.status_code == 429 and "a few minutes ago" in again.get_data(as_text=True)
    assert len([m for m in outbox(to=SHARED) if m.template == "referee_requests_link"]) == 1


def test_a_replaced_referee_can_still_reach_their_other_requests(two_requests, outbox):
    app = two_requests
    avery_request = next(link_in(m.body_text, "/r/") for m in outbox(to=SHARED) if "Avery" in m.body_text)
    avery_browser = Browser(app.test_client())
    avery_browser.login("avery@example.org")
    sam = next(r for r in references(app) if r.email == SHARED)  # Avery's came first
    avery_browser.submit(
        f"/applications/{sam.application_id}/references/{sam.id}/email", {"email": "sam.new@example.net"}
    )
    assert app.test_client().get(avery_request).status_code == 410  # that request moved to another address

    assert ask_for_page(app, avery_request).status_code == 200  # goes to the old address only
    body = app.test_client().get(page_link(outbox, SHARED)).get_data(as_text=True)
    assert "Blake Applicant" in body and "Avery Applicant" not in body
    assert [m for m in outbox(to="sam.new@example.net") if m.template == "referee_requests_link"] == []


def test_an_address_whose_requests_all_ended_sees_none(make_app, outbox):
    app = make_app()
    browser, application = applicant_with_referees(app, "avery@example.org", "Avery Applicant", REFEREES)
    request_path = referee_path(outbox, SHARED)
    browser.submit(f"/applications/{application.id}/withdraw", {}, form_url=f"/applications/{application.id}")
    ask_for_page(app, request_path)
    body = app.test_client().get(page_link(outbox, SHARED)).get_data(as_text=True)
    assert "There are no requests for this address at the moment." in body


def test_the_page_speaks_the_referees_language(make_app, outbox):
    app = make_app()
    spanish = [{**REFEREES[0], "language": "es"}, *REFEREES[1:]]
    applicant_with_referees(app, "avery@example.org", "Avery Applicant", spanish)
    ask_for_page(app, referee_path(outbox, SHARED))
    message = [m for m in outbox(to=SHARED) if m.template == "referee_requests_link"][-1]
    assert message.subject == "Sus solicitudes de referencia"
    body = app.test_client().get(page_link(outbox, SHARED)).get_data(as_text=True)
    assert "Mis solicitudes de referencia" in body and 'lang="es"' in body
