"""The applicant's dashboard: each application with its checklist."""

from __future__ import annotations

from refportal.accounts.models import Role
from tests.factories import declare_current_membership, make_application, make_user, record_eligibility


def test_empty_dashboard_invites_a_first_application(app, browser):
    with app.app_context():
        make_user(email="a@example.org")
    browser.login("a@example.org")
    body = browser.get("/dashboard").get_data(as_text=True)
    assert "You have no application yet." in body and "Open a new application" in body


def test_checklist_tracks_eligibility_membership_and_references(app, browser):
    with app.app_context():
        user = make_user(email="a@example.org")
        application = make_application(user, category=2)
    browser.login("a@example.org")
    body = browser.get("/dashboard").get_data(as_text=True)
    assert "Infant Family Specialist" in body
    assert "Eligibility</strong>: Not recorded yet" in body
    assert "Membership</strong>: Not declared yet" in body
    assert "References</strong>: Not yet nominated (0 of 3)" in body
    assert "Ready to submit</strong>: not yet" in body

    with app.app_context():
        record_eligibility(application)
        declare_current_membership(application)
    body = browser.get("/dashboard").get_data(as_text=True)
    assert "Eligibility</strong>: Every requirement is met" in body
    assert "Membership</strong>: INfancy Onward: declared" in body
    assert "Ready to submit</strong>: not yet" in body  # references still missing


def test_staff_go_to_the_review_queue(app, browser):
    with app.app_context():
        make_application(make_user(name="Zora Quill"))
        make_user(email="rev@example.org", role=Role.REVIEWER)
    browser.login("rev@example.org")
    response = browser.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"].endswith("/review/")
    assert "Zora Quill" in browser.get("/review/").get_data(as_text=True)
