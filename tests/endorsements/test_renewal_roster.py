"""The association's roster verifies the membership declared on open renewals (drafts, waiting for staff,
sent back for more), through the roster page: by member number (with the holder's e-mail or name), or by
the holder's e-mail where the renewal has no number; a rejection is not overturned, an expired row and a
row naming someone else verify nothing; a decided renewal is left alone. The report shows each line."""

from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa

from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.db import utc_today
from refportal.endorsements.models import Renewal, RenewalStatus
from refportal.extensions import db
from refportal.membership.models import MembershipStatus, VerificationSource
from tests.builders import logged_in
from tests.endorsements.staff_renewals import ADMIN, make_admin, submitted_renewal
from tests.web import csrf_token_from

R = RenewalStatus
NEXT_YEAR = utc_today() + timedelta(days=500)
LAST_MONTH = utc_today() - timedelta(days=30)


def upload(app, text: str) -> str:
    browser = logged_in(app, ADMIN)
    page = browser.get("/admin/roster").get_data(as_text=True)
    response = browser.client.post(
        "/admin/roster",
        data={"csrf_token": csrf_token_from(page), "roster": (io.BytesIO(text.encode()), "roster.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def renewal(app, renewal_id: int) -> Renewal:
    with app.app_context():
        row = db.session.get(Renewal, renewal_id)
        db.session.expunge_all()
        return row


def roster(*lines: str) -> str:
    return "member_number,email,name,expires_on\n" + "".join(line + "\n" for line in lines)


def test_the_roster_verifies_open_renewals_by_number_or_by_email(app):
    make_admin(app)
    by_number = submitted_renewal(app, name="Ann Lee", email="ann@example.org", member_number="IO-1")
    by_name = submitted_renewal(
        app, name="Bo Chan", email="bo@example.org", member_number="IO-2", status=R.MORE_REQUESTED
    )
    by_email = submitted_renewal(app, name="Cy Diaz", email="cy@example.org", member_number=None, status=R.DRAFT)
    body = upload(
        app,
        roster(
            f"io-1,ann@example.org,Someone Else,{NEXT_YEAR}",  # number + e-mail
            f"IO-2,other@example.org, bo  CHAN ,{NEXT_YEAR}",  # number + name
            f"IO-77,cy@example.org,Cy Diaz,{NEXT_YEAR}",  # no number on the renewal: by e-mail
            f"IO-9,nobody@example.org,Nobody,{NEXT_YEAR}",  # nothing
        ),
    )
    assert "Matched 3, unmatched 1, conflicts 0." in body
    assert "Line 2: Ann Lee (renewal of" in body and "Line 4: Cy Diaz (renewal of" in body
    for renewal_id, line in ((by_number, 2), (by_name, 3), (by_email, 4)):
        row = renewal(app, renewal_id)
        assert row.membership_status is MembershipStatus.VERIFIED
        assert row.membership_verification_source is VerificationSource.ROSTER
        assert row.membership_note == f"Matched roster line {line}"
        assert row.membership_expires_on == NEXT_YEAR and row.version == 2
    assert renewal(app, by_email).member_number == "IO-77"  # recorded from the roster
    with app.app_context():
        audited = db.session.scalars(
            sa.select(AuditEvent.object_id).where(AuditEvent.action == AuditAction.RENEWAL_MEMBERSHIP_VERIFIED.value)
        ).all()
        assert sorted(audited) == sorted([by_number, by_name, by_email])


def test_the_roster_refuses_what_it_must_not_verify(app):
    make_admin(app)
    rejected = submitted_renewal(app, name="Ann Lee", email="ann@example.org", member_number="IO-1")
    expired = submitted_renewal(app, name="Bo Chan", email="bo@example.org", member_number="IO-2")
    someone_else = submitted_renewal(app, name="Cy Diaz", email="cy@example.org", member_number="IO-3")
    decided = submitted_renewal(app, name="Di Eng", email="di@example.org", member_number="IO-4", status=R.APPROVED)
    with app.app_context():
        row = db.session.get(Renewal, rejected)
        row.membership_status, row.membership_note = MembershipStatus.REJECTED, "Not a member"
        db.session.commit()
    body = upload(
        app,
        roster(
            f"IO-1,ann@example.org,Ann Lee,{NEXT_YEAR}",
            f"IO-2,bo@example.org,Bo Chan,{LAST_MONTH}",
            f"IO-3,x@example.org,Not Cy,{NEXT_YEAR}",
            f"IO-4,di@example.org,Di Eng,{NEXT_YEAR}",
        ),
    )
    assert "Matched 0, unmatched 1, conflicts 3." in body
    assert "Line 2: staff rejected the membership on Ann Lee&#39;s renewal" in body and "(Not a member)" in body
    assert f"expired on {LAST_MONTH:%d %B %Y}" in body
    assert "Line 4: member number IO-3 is declared on the renewal of" in body
    assert f'href="/staff/renewals/{rejected}"' in body  # the conflict links to the renewal
    assert renewal(app, rejected).membership_status is MembershipStatus.REJECTED
    for renewal_id in (expired, someone_else, decided):
        row = renewal(app, renewal_id)
        assert row.membership_status is MembershipStatus.DECLARED and row.version == 1
