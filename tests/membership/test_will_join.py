"""An applicant who joins with the application ("will join"): submitted while the new membership waits,
then confirmed by a reviewer on the file or by a roster that lists their e-mail, and the file is complete."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from refportal.accounts.models import Role
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.audit.models import AuditEvent
from refportal.db import utc_today
from refportal.extensions import db
from refportal.membership.models import MembershipKind, MembershipStatus, VerificationSource
from tests.builders import logged_in, settle_fees, with_ratings
from tests.factories import make_application, make_user, record_eligibility
from tests.web import csrf_token_from

NEXT_YEAR = utc_today() + timedelta(days=365)


@pytest.fixture
def joiner(app):
    """Jo's category 2 application (eligible, three ratings in), Jo declaring "will join" through the form
    and submitting it; a reviewer and an administrator."""
    with app.app_context():
        make_user(email="rev@example.org", name="Rita Reviewer", role=Role.REVIEWER)
        make_user(email="admin@example.org", name="Alex Admin", role=Role.ADMIN)
        application = make_application(make_user(email="jo@example.org", name="Jo Joiner"), category=2)
        record_eligibility(application)
        with_ratings(application)
        application_id = application.id
    jo = logged_in(app, "jo@example.org")
    response = jo.submit(
        f"/applications/{application_id}/membership",
        {"kind": "will_join", "association": "", "association_name": "", "member_number": "", "expires_on": ""},
    )
    assert response.status_code == 302
    with app.app_context():  # the membership fee the declaration added, settled
        settle_fees(db.session.get(Application, application_id))
    return {"id": application_id, "jo": jo}


def declaration(app, application_id):
    with app.app_context():
        found = db.session.get(Application, application_id).membership
        db.session.expunge(found)
        return found


def file_url(joiner, suffix=""):
    return f"/review/applications/{joiner['id']}{suffix}"


def complete_in_queue(browser, application_id) -> bool:
    listed = browser.get("/review/?completeness=complete").get_data(as_text=True)
    return f'href="/review/applications/{application_id}"' in listed


def test_the_applicant_may_submit_while_the_new_membership_waits(app, joiner):
    jo = joiner["jo"]
    page = jo.get(f"/applications/{joiner['id']}").get_data(as_text=True)
    assert "INfancy Onward: joining with this application (the membership fee is added); waiting for" in page
    assert "Complete file</strong>: not yet" in page and "Ready to submit</strong>: yes" in page
    assert "Your membership is still waiting for verification" in page
    response = jo.submit(f"/applications/{joiner['id']}/submit", {"attest": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Application, joiner["id"]).status is ApplicationStatus.SUBMITTED


def test_a_reviewer_confirms_the_new_membership_and_the_file_is_complete(app, joiner):
    joiner["jo"].submit(f"/applications/{joiner['id']}/submit", {"attest": "y"})
    reviewer = logged_in(app, "rev@example.org")
    body = reviewer.get(file_url(joiner)).get_data(as_text=True)
    assert "The applicant has not joined yet" in body and "New member number" in body
    assert "Complete file</strong>: not yet" in body
    assert not complete_in_queue(reviewer, joiner["id"])

    response = reviewer.submit(
        file_url(joiner, "/membership"),
        {"verdict": "verify", "note": "", "member_number": "IO-500", "expires_on": NEXT_YEAR.isoformat()},
        form_url=file_url(joiner),
    )
    assert response.status_code == 302
    saved = declaration(app, joiner["id"])
    assert (saved.kind, saved.status, saved.member_number, saved.expires_on, saved.verification_source) == (
        MembershipKind.WILL_JOIN,
        MembershipStatus.VERIFIED,
        "IO-500",
        NEXT_YEAR,
        VerificationSource.REVIEWER,
    )
    body = reviewer.get(file_url(joiner)).get_data(as_text=True)
    assert "Complete file</strong>: yes" in body and "has not joined yet" not in body
    assert 'value="IO-500"' in body  # the form shows what was recorded
    assert complete_in_queue(reviewer, joiner["id"])
    page = joiner["jo"].get(f"/applications/{joiner['id']}").get_data(as_text=True)
    assert "INfancy Onward: joined, verified, valid until" in page and "Complete file</strong>: yes" in page
    fees = page[page.index('id="fees"') :]
    assert "Membership in the association" in fees and "no longer owed" not in fees  # the fee stays charged
    with app.app_context():
        details = db.session.scalars(
            sa.select(AuditEvent.details).where(AuditEvent.action == "membership.verified")
        ).one()
        assert details["member_number"] == "IO-500"


@pytest.mark.parametrize(
    "data, message",
    [
        ({"member_number": "", "expires_on": NEXT_YEAR.isoformat()}, "Enter the new member number"),
        ({"member_number": "IO-500", "expires_on": ""}, "Enter the date the new membership expires."),
        (
            {"member_number": "IO-500", "expires_on": (utc_today() - timedelta(days=1)).isoformat()},
            "cannot be confirmed",
        ),
        ({"member_number": "IO\r\n500", "expires_on": NEXT_YEAR.isoformat()}, "without line breaks"),
        ({"member_number": "X" * 41, "expires_on": NEXT_YEAR.isoformat()}, "longer than 40 characters"),
        ({"member_number": "IO-500", "expires_on": "31/12/2030"}, "Not a valid date value"),
    ],
)
def test_confirming_needs_the_new_number_and_a_current_expiry(app, joiner, data, message):
    reviewer = logged_in(app, "rev@example.org")
    response = reviewer.submit(
        file_url(joiner, "/membership"), {"verdict": "verify", "note": "", **data}, form_url=file_url(joiner)
    )
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    saved = declaration(app, joiner["id"])
    assert (saved.status, saved.member_number, saved.expires_on) == (MembershipStatus.DECLARED, None, None)


def upload(app, text: str) -> str:
    admin = logged_in(app, "admin@example.org")
    token = csrf_token_from(admin.get("/admin/roster").get_data(as_text=True))
    response = admin.client.post(
        "/admin/roster",
        data={"csrf_token": token, "roster": (io.BytesIO(text.encode()), "roster.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


HEADER = "member_number,email,name,expires_on\n"


def test_a_roster_that_lists_the_applicants_address_confirms_the_new_membership(app, joiner):
    body = upload(app, HEADER + f"IO-501,JO@example.org,Jo J.,{NEXT_YEAR.isoformat()}\n")
    assert "Matched 1, unmatched 0, conflicts 0." in body and "Line 2: Jo Joiner" in body
    saved = declaration(app, joiner["id"])
    assert (saved.status, saved.member_number, saved.expires_on, saved.verification_source) == (
        MembershipStatus.VERIFIED,
        "IO-501",
        NEXT_YEAR,
        VerificationSource.ROSTER,
    )
    page = joiner["jo"].get(f"/applications/{joiner['id']}").get_data(as_text=True)
    assert "Complete file</strong>: yes" in page
    assert complete_in_queue(logged_in(app, "rev@example.org"), joiner["id"])
    # The next roster finds the membership by its number now.
    later = NEXT_YEAR + timedelta(days=30)
    body = upload(app, HEADER + f"IO-501,jo@example.org,Jo Joiner,{later.isoformat()}\n")
    assert "Matched 1, unmatched 0, conflicts 0." in body
    assert declaration(app, joiner["id"]).expires_on == later


def test_a_roster_row_with_another_address_does_not_confirm_a_new_membership(app, joiner):
    body = upload(app, HEADER + f"IO-502,jo.joiner@elsewhere.example,Jo Joiner,{NEXT_YEAR.isoformat()}\n")
    assert "Matched 0, unmatched 1, conflicts 0." in body
    assert declaration(app, joiner["id"]).status is MembershipStatus.DECLARED


def test_an_expired_roster_entry_does_not_confirm_a_new_membership(app, joiner):
    last_year = (utc_today() - timedelta(days=365)).isoformat()
    body = upload(app, HEADER + f"IO-503,jo@example.org,Jo Joiner,{last_year}\n")
    assert "Matched 0, unmatched 0, conflicts 1." in body and "Jo Joiner&#39;s membership expired on" in body
    saved = declaration(app, joiner["id"])
    assert (saved.status, saved.member_number) == (MembershipStatus.DECLARED, None)


def test_the_roster_does_not_overturn_a_rejected_new_membership(app, joiner):
    reviewer = logged_in(app, "rev@example.org")
    response = reviewer.submit(
        file_url(joiner, "/membership"),
        {"verdict": "reject", "note": "No payment received", "member_number": "", "expires_on": ""},
        form_url=file_url(joiner),
    )
    assert response.status_code == 302
    body = upload(app, HEADER + f"IO-504,jo@example.org,Jo Joiner,{NEXT_YEAR.isoformat()}\n")
    assert "Matched 0, unmatched 0, conflicts 1." in body
    assert "a reviewer rejected Jo Joiner&#39;s membership on" in body and "(No payment received)" in body
    saved = declaration(app, joiner["id"])
    assert (saved.status, saved.member_number, saved.verification_source) == (
        MembershipStatus.REJECTED,
        None,
        VerificationSource.REVIEWER,
    )
    page = joiner["jo"].get(f"/applications/{joiner['id']}").get_data(as_text=True)
    assert "INfancy Onward: rejected (No payment received)" in page and "Ready to submit</strong>: not yet" in page
