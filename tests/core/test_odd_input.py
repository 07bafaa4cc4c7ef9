"""Whatever a browser can send to a form is answered without a 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from refportal.accounts.models import Role
from refportal.applications.lifecycle import ApplicationStatus
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


# url_for's own names in a list's query: the pagers rebuild the list's links from the filter form's fields
# only, so none of these reaches url_for (where `_method` or `endpoint` would break the link's building).
HOSTILE_QUERY = "page=2&_method=POST&endpoint=x&_external=1&_anchor=a&_scheme=javascript&values=1"
LISTS = ["/registry/", "/review/", "/staff/fees", "/staff/renewals/", "/staff/mail/"]


@pytest.mark.parametrize("url", LISTS)
def test_url_for_names_in_a_lists_query_never_cause_a_500_nor_reach_its_links(app, browser, url):
    with app.app_context():
        make_user(email="admin@example.org", role=Role.ADMIN)
        applicant = make_user(email="queued@example.org")
        for _ in range(3):
            make_application(applicant, status=ApplicationStatus.SUBMITTED)
    app.config["QUEUE_PAGE_SIZE"] = 1  # the queue has pages before and after the second
    if not url.startswith("/registry/"):
        browser.login("admin@example.org")
    response = browser.get(f"{url}?{HOSTILE_QUERY}&status=submitted")
    assert response.status_code < 500, response.status_code
    page = response.get_data(as_text=True)
    if url != "/registry/":  # (an empty registry draws no page links; its links are built the same way)
        assert "Previous" in page  # a page link was drawn from the query
    for name in ("_method", "endpoint=", "_external", "_anchor", "_scheme", "javascript"):
        assert name not in page, name
