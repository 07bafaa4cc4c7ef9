"""Every form driven with generated text: control characters, very long strings, any Unicode, markup.
No answer is a 500, and nothing with a line break reaches a mail header.

FUZZ_EXAMPLES sets the examples per form (default 750; 13 forms and the queue's filters: 10,500
examples in one run of the suite)."""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refportal.accounts.models import Role
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from tests.conftest import Browser, csrf_token_from
from tests.factories import declare_current_membership, make_application, make_user, record_eligibility
from tests.references.helpers import nominate_three, referee_path, send_requests

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "750"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# Any Unicode except lone surrogates (a browser cannot send them), control characters included.
CHARACTERS = st.characters(blacklist_categories=("Cs",))
ANY_TEXT = st.text(CHARACTERS, max_size=80)
NASTY = st.sampled_from([
    "", " ", "\x00", "\r\nBcc: victim@example.org", "a\r\nX-Injected: 1", "<script>alert(1)</script>", "' OR 1=1 --",
    "%s%s%n", "../../etc/passwd", "\u202e\u200b\ufeff", "9" * 400, "-1", "1e309", "NaN", "2026-02-30", "é" * 2000,
])
# Very long values, cheap to make: a generated piece repeated.
LONG = st.builds(lambda piece, times: (piece or "x") * times, st.text(CHARACTERS, min_size=1, max_size=8),
                 st.integers(200, 2000))
VALUE = st.one_of(ANY_TEXT, NASTY, LONG)


def values(*fields):
    return st.fixed_dictionaries({field: VALUE for field in fields})


def assert_no_header_injection(app) -> None:
    with app.app_context():
        headers = db.session.execute(sa.select(OutboxEmail.to_address, OutboxEmail.subject)).all()
    for to, subject in headers:
        assert "\r" not in to + subject and "\n" not in to + subject


def check(response) -> None:
    assert response.status_code < 500, response.status_code
    for name, value in response.headers.items():
        assert "X-Injected" not in name and "\n" not in value and "\r" not in value


def poster(browser, page_url):
    token = csrf_token_from(browser.get(page_url).get_data(as_text=True))

    def post(url, data):
        response = browser.client.post(url, data={"csrf_token": token, **data})
        check(response)
        return response

    return post


@pytest.fixture
def setup(app, outbox):
    """An applicant with an application and three referees asked; a reviewer; an admin."""
    with app.app_context():
        user = make_user(email="fuzz@example.org")
        application = make_application(user)
        record_eligibility(application)
        declare_current_membership(application)
        make_user(email="rev@example.org", role=Role.REVIEWER)
        make_user(email="admin@example.org", role=Role.ADMIN)
    applicant = Browser(app.test_client())
    applicant.login("fuzz@example.org")
    nominate_three(applicant, application.id)
    send_requests(applicant, application.id)
    return application.id, applicant, referee_path(outbox, "sam@example.net")


def fuzz_form(post, url: str, fields: list[str]) -> None:
    """Post generated values for `fields` to `url`, one submission per example (all of them run)."""
    runs = []

    @FUZZ
    @given(data=values(*fields))
    def run(data):
        runs.append(1)
        post(url, data)

    run()
    assert len(runs) >= EXAMPLES, f"only {len(runs)} examples ran for {url}"


PUBLIC_FORMS = {
    "/register": ["name", "email", "password", "confirm"],
    "/login": ["email", "password"],
    "/password/forgot": ["email"],
}
APPLICANT_FORMS = {
    "/applications/new": ["credential", "category", "mentor_track"],
    "{base}/eligibility": ["education_level", "work_years", "training_hours", "rsc_hours"],
    "{base}/membership": ["kind", "association", "association_name", "member_number", "expires_on"],
    "{base}/references/": ["name", "email", "organisation", "role", "setting", "known_years", "endorsed_credential",
                           "endorsed_category", "waived"],
}


@pytest.mark.parametrize("url", PUBLIC_FORMS)
def test_public_forms(app, url):
    fuzz_form(poster(Browser(app.test_client()), url), url, PUBLIC_FORMS[url])
    assert_no_header_injection(app)


@pytest.mark.parametrize("form", APPLICANT_FORMS)
def test_applicant_forms(app, setup, form):
    application_id, applicant, _ = setup
    base = f"/applications/{application_id}"
    fuzz_form(poster(applicant, base), form.format(base=base), APPLICANT_FORMS[form])
    assert_no_header_injection(app)


def test_rating_form(app, setup):
    from refportal.references.rating_form import ITEM_KEYS

    _, _, link = setup
    fields = ["recommendation", "strengths", "growth", "for_reviewers", "relationship_role", "relationship_setting",
              "relationship_years", "attestation_name", "attest", f"item_{ITEM_KEYS[0]}", "action"]
    fuzz_form(poster(Browser(app.test_client()), link), link, fields)


def test_decline_and_confirmation(app, setup):
    _, _, link = setup
    post = poster(Browser(app.test_client()), link)
    fuzz_form(post, f"{link}/submit", ["digest"])
    fuzz_form(post, f"{link}/decline", ["reason"])


def test_staff_forms(app, setup):
    application_id, _, _ = setup
    reviewer = Browser(app.test_client())
    reviewer.login("rev@example.org")
    admin = Browser(app.test_client())
    admin.login("admin@example.org")
    file_url = f"/review/applications/{application_id}"
    fuzz_form(poster(reviewer, file_url), f"{file_url}/review", ["outcome", "notes", "message"])
    fuzz_form(poster(reviewer, file_url), f"{file_url}/membership", ["verdict", "note"])
    fuzz_form(poster(admin, "/admin/users"), "/admin/users/invite", ["name", "email", "role"])

    runs = []

    @FUZZ
    @given(query=values("q", "credential", "category", "status", "membership", "completeness", "submitted_from",
                        "submitted_to", "sort", "page"))
    def queue(query):
        runs.append(1)
        check(reviewer.client.get("/review/", query_string=query))

    queue()
    assert len(runs) >= EXAMPLES
    assert_no_header_injection(app)
