"""Every applicant page belongs to its owner: others get a 404, anonymous visitors the login page."""

from __future__ import annotations

import pytest

from refportal.accounts.models import Role
from refportal.applications.models import Application
from refportal.extensions import db
from tests.factories import make_application, make_user
from tests.web import csrf_token_from

PAGES = ["/applications/{id}", "/applications/{id}/evidence", "/applications/{id}/membership"]
POSTS = [
    "/applications/{id}/eligibility",
    "/applications/{id}/evidence/training",
    "/applications/{id}/membership",
    "/applications/{id}/withdraw",
]


@pytest.fixture
def owned(app):
    with app.app_context():
        owner = make_user(email="owner@example.org")
        application = make_application(owner)
    return application


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER, Role.ADMIN])
@pytest.mark.parametrize("page", PAGES)
def test_other_people_get_404_on_pages(app, browser, owned, role, page):
    with app.app_context():
        make_user(email="other@example.org", role=role)
    browser.login("other@example.org")
    assert browser.get(page.format(id=owned.id)).status_code == 404


@pytest.mark.parametrize("url", POSTS)
def test_another_applicant_cannot_change_the_application(app, browser, owned, url):
    with app.app_context():
        make_user(email="other@example.org")
    browser.login("other@example.org")
    token = csrf_token_from(browser.get("/dashboard").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "education_level": "master",
        "work_years": "1",
        "training_hours": "1",
        "rsc_hours": "1",
        "kind": "will_join",
    }
    assert browser.client.post(url.format(id=owned.id), data=data).status_code == 404
    with app.app_context():
        application = db.session.get(Application, owned.id)
        assert application.eligibility_recorded_at is None and application.membership is None
        assert application.is_active


@pytest.mark.parametrize("page", PAGES + ["/dashboard", "/applications/new"])
def test_anonymous_visitors_go_to_login(client, owned, page):
    response = client.get(page.format(id=owned.id))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_owner_sees_the_pages(browser, owned):
    browser.login("owner@example.org")
    for page in PAGES:
        assert browser.get(page.format(id=owned.id)).status_code == 200


def test_a_missing_application_is_a_404(browser, owned):
    browser.login("owner@example.org")
    assert browser.get("/applications/999999").status_code == 404
