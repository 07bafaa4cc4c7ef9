"""Whatever a browser can send to a form is answered without a 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from refportal.applications.models import EligibilitySource
from refportal.extensions import db
from refportal.references.models import Reference
from tests.factories import make_application, make_user
from tests.web import csrf_token_from

ODD_VALUES = [
    "\x00",
    "a\x00b",
    "\r\n",
    "<script>alert(1)</script>",
    "é" * 3000,
    "x" * 100_000,
    "-1",
    "1e309",
    "NaN",
    "9" * 50,
    "2026-02-30",
    "\ud7ff\ue000",
    " ",
]

FORMS = {
    "/register": ["name", "email", "password", "confirm", "language"],
    "/account": ["language"],
    "/login": ["email", "password"],
    "/password/forgot": ["email"],
    "/applications/new": ["credential", "category", "mentor_track"],
    "/applications/{id}/eligibility": ["education_level", "work_years", "training_hours", "rsc_hours"],
    "/applications/{id}/membership": ["kind", "association", "association_name", "member_number", "expires_on"],
    # The Evidence page's forms: their fields carry the kind as prefix.
    "/applications/{id}/evidence/education": [
        f"education-{name}" for name in ("level", "field_of_study", "institution", "year_completed")
    ],
    "/applications/{id}/evidence/work": [
        f"work-{name}"
        for name in (
            "employer",
            "role",
            "starts_on",
            "ends_on",
            "hours_per_week",
            "serves_0_3",
            "serves_3_6",
            "description",
        )
    ],
    "/applications/{id}/evidence/training": [
        f"training-{name}" for name in ("title", "provider", "taken_on", "hours", "about_rsc", "about_dei")
    ],
    "/applications/{id}/evidence/rsc": [
        f"rsc-{name}" for name in ("provider", "provider_credential", "starts_on", "ends_on", "hours", "format")
    ],
}


@pytest.mark.parametrize("url", FORMS)
def test_odd_values_in_every_field_never_cause_a_500(app, browser, url):
    # The totals form is for an application from before evidence entries.
    source = EligibilitySource.SELF_REPORTED if url.endswith("/eligibility") else EligibilitySource.ENTRIES
    with app.app_context():
        user = make_user(email="odd@example.org")
        application = make_application(user, eligibility_source=source)
    if url.startswith(("/applications", "/account")):
        browser.login("odd@example.org")
    fields = FORMS[url]
    url = url.format(id=application.id)
    page = f"/applications/{application.id}" if "/evidence/" in url else url  # the evidence forms post only
    token = csrf_token_from(browser.get(page).get_data(as_text=True))
    tokens = {"csrf_token": token, **{f"{kind}-csrf_token": token for kind in ("education", "work", "training", "rsc")}}
    for value in ODD_VALUES:
        for field in fields:
            response = browser.client.post(url, data={**tokens, field: value})
            assert response.status_code < 500, (url, field, value[:20])
        everything = dict.fromkeys(fields, value)
        response = browser.client.post(url, data={**tokens, **everything})
        assert response.status_code < 500, (url, value[:20])


NOMINATION_FIELDS = [
    "name",
    "email",
    "organisation",
    "role",
    "setting",
    "known_years",
    "endorsed_credential",
    "endorsed_category",
    "waived",
]


def test_odd_values_in_the_reference_forms_never_cause_a_500(app, browser, outbox):
    from refportal.references.rating_form import ITEM_KEYS
    from tests.factories import declare_current_membership, record_eligibility
    from tests.references.helpers import nominate_three, nomination, referee_path, send_requests

    with app.app_context():
        user = make_user(email="odd@example.org")
        application = make_application(user)
        record_eligibility(application)
        declare_current_membership(application)
    browser.login("odd@example.org")
    base = f"/applications/{application.id}/references/"
    token = csrf_token_from(browser.get(base).get_data(as_text=True))
    for value in ODD_VALUES:
        for field in NOMINATION_FIELDS:
            assert (
                browser.client.post(base, data={"csrf_token": token, **nomination(**{field: value})}).status_code < 500
            )
            with app.app_context():  # some odd values are fine (markup in a name): start again each time
                db.session.execute(sa.delete(Reference))
                db.session.commit()
    nominate_three(browser, application.id)
    send_requests(browser, application.id)

    referee = app.test_client()
    link = referee_path(outbox, "sam@example.net")
    page_token = csrf_token_from(referee.get(link).get_data(as_text=True))
    rating_fields = [
        "recommendation",
        "strengths",
        "growth",
        "for_reviewers",
        "relationship_role",
        "relationship_setting",
        "relationship_years",
        "attestation_name",
        "attest",
        f"item_{ITEM_KEYS[0]}",
    ]
    for value in ODD_VALUES:
        for action in ("save", "review", value):
            data = {"csrf_token": page_token, "action": action, **{field: value for field in rating_fields}}
            assert referee.post(link, data=data).status_code < 500, (action, value[:20])
        for step, extra in ((1, {}), (6, {"version": value}), (2, {"version": value, "autosave": "1"})):
            data = {"csrf_token": page_token, "action": value, **extra, **{field: value for field in rating_fields}}
            assert referee.post(f"{link}/step/{step}", data=data).status_code < 500, (step, value[:20])
        assert referee.get(f"{link}/step/{value[:50]}").status_code < 500
        assert referee.post(f"{link}/decline", data={"csrf_token": page_token, "reason": value}).status_code < 500
        assert referee.post(f"{link}/submit", data={"csrf_token": page_token, "digest": value}).status_code < 500
        assert referee.get(f"/r/{value[:200]}").status_code < 500
        assert referee.post(f"/r/{value[:200]}/fresh-link", data={"csrf_token": page_token}).status_code < 500
