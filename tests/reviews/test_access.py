"""Every reviewer and admin address: the login page for anonymous visitors, 404 for applicants."""

from __future__ import annotations

import pytest

from tests.builders import logged_in
from tests.web import csrf_token_from

GETS = ["/review/", "/review/export.csv", "/review/applications/{id}", "/review/applications/{id}/ratings.csv"]
POSTS = [
    "/review/applications/{id}/membership",
    "/review/applications/{id}/review",
    "/review/applications/{id}/decision",
]
ADMIN_GETS = ["/admin/users", "/admin/roster"]
ADMIN_POSTS = ["/admin/users/invite", "/admin/users/1/role", "/admin/users/1/active", "/admin/roster"]


@pytest.mark.parametrize("url", GETS + ADMIN_GETS)
def test_anonymous_visitors_get_the_login_page(client, people, url):
    response = client.get(url.format(id=people["application_id"]))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("who", ["a@example.org", "b@example.org"])
def test_applicants_get_404_everywhere(app, people, who):
    browser = logged_in(app, who)
    token = csrf_token_from(browser.get("/dashboard", follow_redirects=True).get_data(as_text=True))
    for url in GETS + ADMIN_GETS:
        assert browser.get(url.format(id=people["application_id"])).status_code == 404, url
    for url in POSTS + ADMIN_POSTS:
        data = {"csrf_token": token, "outcome": "endorse", "verdict": "verify", "role": "admin", "active": "0"}
        assert browser.client.post(url.format(id=people["application_id"]), data=data).status_code == 404, url


def test_reviewers_see_the_workspace_but_not_the_admin_pages(app, people):
    browser = logged_in(app, "rev@example.org")
    for url in GETS:
        assert browser.get(url.format(id=people["application_id"])).status_code == 200, url
    for url in ADMIN_GETS:
        assert browser.get(url).status_code == 404, url
    token = csrf_token_from(browser.get("/review/").get_data(as_text=True))
    response = browser.client.post(
        f"/review/applications/{people['application_id']}/decision", data={"csrf_token": token, "outcome": "endorse"}
    )
    assert response.status_code == 404


def test_admins_see_everything(app, people):
    browser = logged_in(app, "admin@example.org")
    for url in GETS + ADMIN_GETS:
        assert browser.get(url.format(id=people["application_id"])).status_code == 200, url


def test_a_missing_application_is_a_404(app, people):
    assert logged_in(app, "rev@example.org").get("/review/applications/99999").status_code == 404
