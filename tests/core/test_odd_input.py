"""Whatever a browser can send to a form is answered without a 500."""
from __future__ import annotations

import pytest

from tests.conftest import csrf_token_from
from tests.factories import make_application, make_user

ODD_VALUES = ["\x00", "a\x00b", "\r\n", "<script>alert(1)</script>", "é" * 3000, "x" * 100_000, "-1", "1e309", "NaN",
              "9" * 50, "2026-02-30", "\ud7ff\ue000", " "]

FORMS = {
    "/register": ["name", "email", "password", "confirm"],
    "/login": ["email", "password"],
    "/password/forgot": ["email"],
    "/applications/new": ["credential", "category", "mentor_track"],
    "/applications/{id}/eligibility": ["education_level", "work_years", "training_hours", "rsc_hours"],
    "/applications/{id}/membership": ["kind", "association", "association_name", "member_number", "expires_on"],
}


@pytest.mark.parametrize("url", FORMS)
def test_odd_values_in_every_field_never_cause_a_500(app, browser, url):
    with app.app_context():
        user = make_user(email="odd@example.org")
        application = make_application(user)
    if url.startswith("/applications"):
        browser.login("odd@example.org")
    url = url.format(id=application.id)
    token = csrf_token_from(browser.get(url).get_data(as_text=True))
    for value in ODD_VALUES:
        for field in FORMS[url.replace(str(application.id), "{id}")]:
            response = browser.client.post(url, data={"csrf_token": token, field: value})
            assert response.status_code < 500, (url, field, value[:20])
        everything = {field: value for field in FORMS[url.replace(str(application.id), "{id}")]}
        response = browser.client.post(url, data={"csrf_token": token, **everything})
        assert response.status_code < 500, (url, value[:20])
