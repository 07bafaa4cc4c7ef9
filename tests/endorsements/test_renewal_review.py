"""Staff's side of a renewal: the queue (waiting for staff first, oldest first, filters, the checklist
summary), the page, and the decisions: approve (the next period exactly, the anniversary kept in grace),
ask for more, refuse, each e-mailed; a decision from an older tab refused; a requirement unmet refused;
the membership verified or rejected by hand; hostile input; the annual cycle waiting for staff."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from refportal.accounts.models import Role, User
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.db import utc_today
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.endorsements.models import Endorsement, Renewal, RenewalStatus
from refportal.endorsements.renewal_notices import run_annual_cycle
from refportal.endorsements.renewal_review import add_months
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.membership.models import MembershipStatus, VerificationSource
from refportal.portfolio.models import Portfolio
from tests.builders import logged_in
from tests.endorsements.staff_renewals import ADMIN, make_admin, submitted_renewal
from tests.factories import make_user
from tests.support import require, run_together
from tests.web import csrf_token_from

S = EndorsementStatus
R = RenewalStatus
DAY = timedelta(days=1)


@pytest.fixture
def admin(app):
    make_admin(app)
    return logged_in(app, ADMIN)


def state(app, renewal_id: int) -> tuple[Renewal, Endorsement]:
    with app.app_context():
        renewal = db.session.get(Renewal, renewal_id)
        endorsement = renewal.endorsement
        db.session.expunge_all()
        return renewal, endorsement


def emails(app, template: str) -> list[OutboxEmail]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.template == template)))
        db.session.expunge_all()
        return rows


def page_of(browser, renewal_id: int) -> str:
    response = browser.get(f"/staff/renewals/{renewal_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def version_on(html: str, prefix: str) -> str:
    match = re.search(rf'name="{prefix}-version"[^>]*value="(\d+)"', html) or re.search(
        rf'value="(\d+)"[^>]*name="{prefix}-version"', html
    )
    assert match, f"no {prefix}-version on the page"
    return match.group(1)


def post(browser, renewal_id: int, action: str, prefix: str, data: dict, *, html: str | None = None):
    """Post one of the page's forms as the page (`html`, or freshly opened) drew it."""
    html = html or page_of(browser, renewal_id)
    payload = {"csrf_token": csrf_token_from(html), f"{prefix}-version": version_on(html, prefix)}
    payload.update({f"{prefix}-{k}": v for k, v in data.items()})
    return browser.client.post(f"/staff/renewals/{renewal_id}/{action}", data=payload)


# ---------------------------------------------------------------------------------------------
# The queue


def test_the_queue_lists_those_waiting_for_staff_first_oldest_first_with_the_checklist(app, admin):
    newer = submitted_renewal(app, name="Nina Newer", email="nina@example.org", submitted_days_ago=1)
    older = submitted_renewal(
        app, name="Olga Older", email="olga@example.org", submitted_days_ago=5, training_hours=3, late=True
    )
    sent_back = submitted_renewal(
        app, name="Max More", email="max@example.org", status=R.MORE_REQUESTED, submitted_days_ago=9
    )
    draft = submitted_renewal(app, name="Dora Draft", email="dora@example.org", status=R.DRAFT)
    body = admin.get("/staff/renewals/").get_data(as_text=True)
    assert body.index("Olga Older") < body.index("Nina Newer") < body.index("Max More")
    assert "Dora Draft" not in body  # a draft is the endorsee's until submitted
    assert "3 renewals." in body
    # The checklist summary: Olga's training is short.
    olga_row = body[body.index("Olga Older") : body.index("Nina Newer")]
    assert "4 of 5 met" in olga_row and "Relationship-based training this year" in olga_row and "Late" in olga_row
    nina_row = body[body.index("Nina Newer") : body.index("Max More")]
    assert "5 of 5 met" in nina_row
    with app.app_context():
        number = db.session.get(Renewal, older).endorsement.number
    assert number in olga_row

    only_late = admin.get("/staff/renewals/?late=yes").get_data(as_text=True)
    assert "Olga Older" in only_late and "Nina Newer" not in only_late
    drafts = admin.get("/staff/renewals/?status=draft").get_data(as_text=True)
    assert "Dora Draft" in drafts and "Olga Older" not in drafts
    assert "Max More" in admin.get("/staff/renewals/?status=more_requested").get_data(as_text=True)
    assert "No renewal matches." in admin.get("/staff/renewals/?credential=ecmh-e").get_data(as_text=True)
    assert admin.get("/staff/renewals/?status=nonsense&page=-4").status_code == 200
    assert {newer, sent_back, draft}  # all built


def test_the_queue_pages(app, admin):
    app.config["QUEUE_PAGE_SIZE"] = 2
    for n in range(3):
        submitted_renewal(app, name=f"Person {n}", email=f"p{n}@example.org", submitted_days_ago=10 - n)
    first = admin.get("/staff/renewals/").get_data(as_text=True)
    assert "Person 0" in first and "Person 1" in first and "Person 2" not in first and 'rel="next"' in first
    second = admin.get("/staff/renewals/?page=2").get_data(as_text=True)
    assert "Person 2" in second and "Person 0" not in second


def test_only_administrators_reach_the_renewal_pages(app):
    renewal_id = submitted_renewal(app)
    with app.app_context():
        make_user(email="rev@example.org", role=Role.REVIEWER)
    reviewer = logged_in(app, "rev@example.org")
    holder = logged_in(app, "rita@example.org")
    for browser in (reviewer, holder):
        assert browser.get("/staff/renewals/").status_code == 404
        assert browser.get(f"/staff/renewals/{renewal_id}").status_code == 404
        assert browser.client.post(f"/staff/renewals/{renewal_id}/approve").status_code in (400, 404)
    assert app.test_client().get("/staff/renewals/").status_code == 302  # to the login page
    assert state(app, renewal_id)[0].status is R.SUBMITTED


# ---------------------------------------------------------------------------------------------
# The page and the decisions


def test_the_page_shows_entries_membership_checklist_and_history(app, admin):
    renewal_id = submitted_renewal(app)
    with app.app_context():
        renewal = db.session.get(Renewal, renewal_id)
        earlier = Renewal(
            endorsement=renewal.endorsement,
            period_ends_on=renewal.period_ends_on - timedelta(days=365),
            portfolio=Portfolio(),
            status=R.APPROVED,
        )
        db.session.add(earlier)
        db.session.commit()
        number = renewal.endorsement.number
    body = page_of(admin, renewal_id)
    for text in (
        number,
        "Rita Renewal",
        "Reflective practice workshop",
        "Morgan Reyes",
        "IO-100",
        "Relationship-based training this year",
        "Attestations signed: 2",
        "I have read the Code of Ethics again",
        "Renewal due",
        "Approve the renewal",
        "Ask for more",
        "Refuse the renewal",
        "Approved",
    ):
        assert text in body, text
    assert admin.get("/staff/renewals/999999").status_code == 404


def test_approve_renews_the_endorsement_for_exactly_the_next_period(app, admin, outbox):
    ends = utc_today() + 20 * DAY
    renewal_id = submitted_renewal(app, period_ends_on=ends)
    response = post(admin, renewal_id, "approve", "approve", {})
    assert response.status_code == 302
    renewal, endorsement = state(app, renewal_id)
    assert renewal.status is R.APPROVED and renewal.decided_at is not None and renewal.version == 2
    assert endorsement.status is S.ACTIVE
    assert endorsement.period_starts_on == ends + DAY
    assert endorsement.period_ends_on == add_months(ends, 12)
    with app.app_context():
        admin_id = db.session.scalar(sa.select(Renewal.decided_by_id).where(Renewal.id == renewal_id))
        assert db.session.get(User, admin_id).email == ADMIN
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == AuditAction.RENEWAL_APPROVED.value)
        ).all()
        assert [e.details["period_ends_on"] for e in events] == [add_months(ends, 12).isoformat()]
        assert [c.event for c in db.session.get(Endorsement, endorsement.id).changes] == ["renew"]
    (email,) = emails(app, "renewal_approved")
    until = add_months(ends, 12).strftime("%d %B %Y")
    assert email.to_address == "rita@example.org" and f"renewed until {until}" in email.subject
    assert f"renewed until {until}" in email.body_text


def test_approve_in_grace_keeps_the_anniversary(app, admin):
    ends = utc_today() - 10 * DAY  # the period ended ten days ago: grace
    renewal_id = submitted_renewal(app, period_ends_on=ends, endorsement_status=S.GRACE, late=True)
    assert post(admin, renewal_id, "approve", "approve", {}).status_code == 302
    _, endorsement = state(app, renewal_id)
    assert endorsement.status is S.ACTIVE
    assert (endorsement.period_starts_on, endorsement.period_ends_on) == (ends + DAY, add_months(ends, 12))


def test_add_months_keeps_the_day_or_the_months_last():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 2, 28), 12) == date(2028, 2, 28)
    assert add_months(date(2026, 12, 5), 12) == date(2027, 12, 5)


def test_approve_is_refused_while_a_requirement_is_unmet(app, admin):
    renewal_id = submitted_renewal(app, training_hours=3)
    response = post(admin, renewal_id, "approve", "approve", {})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "cannot be approved while a requirement is not met" in body
    assert "Relationship-based training this year" in body
    renewal, endorsement = state(app, renewal_id)
    assert renewal.status is R.SUBMITTED and renewal.version == 1 and endorsement.status is S.RENEWAL_DUE
    assert emails(app, "renewal_approved") == []


def test_a_rejected_membership_counts_as_unmet(app, admin):
    renewal_id = submitted_renewal(app)
    assert post(admin, renewal_id, "membership", "membership", {"verdict": "reject"}).status_code == 400  # no note
    assert state(app, renewal_id)[0].membership_status is MembershipStatus.DECLARED
    response = post(
        admin, renewal_id, "membership", "membership", {"verdict": "reject", "note": "Not on the association's list"}
    )
    assert response.status_code == 302
    renewal, _ = state(app, renewal_id)
    assert renewal.membership_status is MembershipStatus.REJECTED
    assert renewal.membership_note == "Not on the association's list"
    assert renewal.membership_verification_source is VerificationSource.REVIEWER
    response = post(admin, renewal_id, "approve", "approve", {})
    assert response.status_code == 400 and "Association membership" in response.get_data(as_text=True)
    assert state(app, renewal_id)[0].status is R.SUBMITTED
    # Verified by hand after all: approval goes through.
    assert post(admin, renewal_id, "membership", "membership", {"verdict": "verify", "note": ""}).status_code == 302
    assert state(app, renewal_id)[0].membership_status is MembershipStatus.VERIFIED
    assert post(admin, renewal_id, "approve", "approve", {}).status_code == 302
    assert state(app, renewal_id)[0].status is R.APPROVED
    # Once decided, the membership is no longer changed.
    html = page_of(admin, renewal_id)
    assert 'name="membership-verdict"' not in html
    response = admin.client.post(
        f"/staff/renewals/{renewal_id}/membership",
        data={
            "csrf_token": csrf_token_from(html),
            "membership-version": str(state(app, renewal_id)[0].version),
            "membership-verdict": "reject",
            "membership-note": "late",
        },
    )
    assert response.status_code == 409 and "can no longer be verified or rejected" in response.get_data(as_text=True)
    assert state(app, renewal_id)[0].membership_status is MembershipStatus.VERIFIED


def test_ask_for_more_needs_a_message_and_tells_the_endorsee(app, admin):
    renewal_id = submitted_renewal(app)
    for bad in ("", "   ", "x" * 5001, "please\x00add"):
        response = post(admin, renewal_id, "more", "more", {"message": bad})
        assert response.status_code == 400, bad
    assert state(app, renewal_id)[0].status is R.SUBMITTED and emails(app, "renewal_more_requested") == []
    message = "Please add the certificate of the <b>March</b> workshop.\nAnd your RSC log."
    assert post(admin, renewal_id, "more", "more", {"message": message}).status_code == 302
    renewal, endorsement = state(app, renewal_id)
    assert renewal.status is R.MORE_REQUESTED and renewal.staff_message == message
    assert renewal.decided_at is None and endorsement.status is S.RENEWAL_DUE
    (email,) = emails(app, "renewal_more_requested")
    assert "certificate of the <b>March</b> workshop" in email.body_text
    assert "&lt;b&gt;March&lt;/b&gt;" in email.body_html  # escaped in the HTML part
    assert "&lt;b&gt;" in page_of(admin, renewal_id)


def test_refuse_needs_a_reason_tells_the_endorsee_and_leaves_the_endorsement_to_the_cycle(app, admin):
    ends = utc_today() + 20 * DAY
    renewal_id = submitted_renewal(app, period_ends_on=ends)
    assert post(admin, renewal_id, "refuse", "refuse", {"message": ""}).status_code == 400
    assert state(app, renewal_id)[0].status is R.SUBMITTED
    assert (
        post(admin, renewal_id, "refuse", "refuse", {"message": "The RSC provider is not endorsed."}).status_code == 302
    )
    renewal, endorsement = state(app, renewal_id)
    assert renewal.status is R.REFUSED and renewal.staff_message == "The RSC provider is not endorsed."
    assert renewal.decided_at is not None
    assert endorsement.status is S.RENEWAL_DUE and endorsement.period_ends_on == ends
    (email,) = emails(app, "renewal_refused")
    assert "The RSC provider is not endorsed." in email.body_text
    assert (ends + 30 * DAY).strftime("%d %B %Y") in email.body_text  # in force until the grace ends


def test_two_tabs_cannot_both_decide(app, admin):
    renewal_id = submitted_renewal(app)
    tab_a = page_of(admin, renewal_id)
    tab_b = page_of(admin, renewal_id)
    assert post(admin, renewal_id, "approve", "approve", {}, html=tab_a).status_code == 302
    response = post(admin, renewal_id, "refuse", "refuse", {"message": "Not enough hours."}, html=tab_b)
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "changed after the page was opened" in body and "approved by Alex Admin" in body
    renewal, endorsement = state(app, renewal_id)
    assert renewal.status is R.APPROVED and renewal.staff_message is None and endorsement.status is S.ACTIVE
    assert emails(app, "renewal_refused") == []
    # The same tab again (approve twice): refused, the period moved once.
    ends_once = endorsement.period_ends_on
    assert post(admin, renewal_id, "approve", "approve", {}, html=tab_a).status_code == 409
    assert state(app, renewal_id)[1].period_ends_on == ends_once
    assert len(emails(app, "renewal_approved")) == 1


def test_no_one_decides_their_own_renewal(app, admin):
    renewal_id = submitted_renewal(app)
    with app.app_context():
        renewal = db.session.get(Renewal, renewal_id)
        renewal.endorsement.holder.role = Role.ADMIN  # the endorsee is an administrator too
        db.session.commit()
    own = logged_in(app, "rita@example.org")
    for action, prefix, data in (
        ("approve", "approve", {}),
        ("more", "more", {"message": "More, please."}),
        ("refuse", "refuse", {"message": "No."}),
        ("membership", "membership", {"verdict": "verify", "note": ""}),
    ):
        response = post(own, renewal_id, action, prefix, data)
        assert response.status_code == 400 and "This is your own renewal" in response.get_data(as_text=True)
    renewal, endorsement = state(app, renewal_id)
    assert renewal.status is R.SUBMITTED and renewal.version == 1 and endorsement.status is S.RENEWAL_DUE
    assert renewal.membership_status is MembershipStatus.DECLARED
    assert post(admin, renewal_id, "approve", "approve", {}).status_code == 302  # another administrator may


def test_hostile_versions_and_bodies_change_nothing(app, admin):
    renewal_id = submitted_renewal(app)
    html = page_of(admin, renewal_id)
    token = csrf_token_from(html)
    for version in ("", "abc", "9" * 30, "-1", "0", "2"):
        response = admin.client.post(
            f"/staff/renewals/{renewal_id}/approve", data={"csrf_token": token, "approve-version": version}
        )
        assert response.status_code in (400, 409), version
    assert admin.client.post(f"/staff/renewals/{renewal_id}/approve", data={"approve-version": "1"}).status_code == 400
    assert admin.client.post("/staff/renewals/999999/approve", data={"csrf_token": token}).status_code == 404
    renewal, endorsement = state(app, renewal_id)
    assert renewal.status is R.SUBMITTED and renewal.version == 1 and endorsement.status is S.RENEWAL_DUE


# ---------------------------------------------------------------------------------------------
# The annual cycle waits for staff


def test_a_renewal_waiting_for_staff_keeps_the_endorsement_in_grace_until_refused(app, admin):
    ends = utc_today() - 40 * DAY  # the grace (30 days) ended ten days ago
    renewal_id = submitted_renewal(app, period_ends_on=ends, endorsement_status=S.GRACE, late=True)
    with app.app_context():
        assert run_annual_cycle(utc_today()).notices == 0
    assert state(app, renewal_id)[1].status is S.GRACE
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)) == 0

    assert post(admin, renewal_id, "refuse", "refuse", {"message": "No RSC this year."}).status_code == 302
    (refusal,) = emails(app, "renewal_refused")
    assert f"Its grace period ended on {ends + 30 * DAY:%d %B %Y}: your endorsement now lapses" in refusal.body_text
    with app.app_context():
        assert run_annual_cycle(utc_today()).notices == 1
    assert state(app, renewal_id)[1].status is S.LAPSED
    assert len(emails(app, "endorsement_lapsed")) == 1


def test_a_renewal_waiting_for_staff_goes_into_grace_silently_and_approval_renews_it(app, admin):
    ends = utc_today() - 2 * DAY
    renewal_id = submitted_renewal(app, period_ends_on=ends)  # due for renewal; the period has just ended
    with app.app_context():
        assert run_annual_cycle(utc_today()).notices == 0
    assert state(app, renewal_id)[1].status is S.GRACE
    assert post(admin, renewal_id, "approve", "approve", {}).status_code == 302
    _, endorsement = state(app, renewal_id)
    assert endorsement.status is S.ACTIVE and endorsement.period_starts_on == ends + DAY
    with app.app_context():
        assert run_annual_cycle(utc_today() + 60 * DAY).notices == 0  # long before the next window opens
    assert state(app, renewal_id)[1].status is S.ACTIVE


def test_two_staff_deciding_at_the_same_moment_decide_once(make_app, postgres_schema):
    if postgres_schema is None:
        require("PostgreSQL", "two requests at the same moment need a database that several connections share")
    app = make_app()
    make_admin(app)
    with app.app_context():
        make_user(email="second@example.org", name="Sam Second", role=Role.ADMIN)
    renewal_id = submitted_renewal(app)
    first, second = logged_in(app, ADMIN), logged_in(app, "second@example.org")
    pages = [page_of(first, renewal_id), page_of(second, renewal_id)]

    def approve():
        return post(first, renewal_id, "approve", "approve", {}, html=pages[0]).status_code

    def refuse():
        return post(second, renewal_id, "refuse", "refuse", {"message": "No."}, html=pages[1]).status_code

    assert sorted(run_together(approve, refuse)) == [302, 409]
    renewal, endorsement = state(app, renewal_id)
    assert renewal.version == 2 and renewal.status in (R.APPROVED, R.REFUSED)
    sent = len(emails(app, "renewal_approved")) + len(emails(app, "renewal_refused"))
    assert sent == 1
    assert endorsement.status is (S.ACTIVE if renewal.status is R.APPROVED else S.RENEWAL_DUE)


def _holding_the_endorsement(postgres_schema: str, renewal_id: int, *changes: str):
    """A connection of its own that locks the renewal's endorsement row and changes it (not committed yet),
    as the other side (an approval, or the annual cycle) does in its transaction."""
    engine = sa.create_engine(postgres_schema)
    connection = engine.connect()
    transaction = connection.begin()
    endorsement_id = connection.execute(
        sa.text("SELECT endorsement_id FROM endorsement_renewal WHERE id = :id"), {"id": renewal_id}
    ).scalar_one()
    connection.execute(sa.text("SELECT id FROM endorsement WHERE id = :id FOR UPDATE"), {"id": endorsement_id})
    for change in changes:
        connection.execute(sa.text(change), {"id": endorsement_id, "renewal_id": renewal_id})
    return engine, connection, transaction


def test_the_cycle_waits_for_an_approval_that_holds_the_endorsement(make_app, postgres_schema):
    """An approval being committed while the job runs: the job waits for it and then sees the endorsement
    renewed (without the lock it would put it back into grace over the approval)."""
    if postgres_schema is None:
        require("PostgreSQL", "row locks need a database that several connections share")
    app = make_app()
    ends = utc_today() - DAY  # the period ended yesterday: the job would move it into grace
    renewal_id = submitted_renewal(app, period_ends_on=ends)
    engine, connection, transaction = _holding_the_endorsement(
        postgres_schema,
        renewal_id,
        "UPDATE endorsement SET status = 'active', period_starts_on = period_ends_on + 1, "
        "period_ends_on = period_ends_on + 365 WHERE id = :id",
        "UPDATE endorsement_renewal SET status = 'approved', version = version + 1 WHERE id = :renewal_id",
    )

    def cycle():
        with app.app_context():
            try:
                return run_annual_cycle(utc_today()).failed
            finally:
                db.session.remove()

    def approval_commits():
        time.sleep(1)  # the job is running meanwhile, waiting for the row
        transaction.commit()
        connection.close()
        return 0

    try:
        assert run_together(cycle, approval_commits) == [0, 0]
    finally:
        engine.dispose()
    _, endorsement = state(app, renewal_id)
    assert endorsement.status is S.ACTIVE and endorsement.period_ends_on == ends + 365 * DAY


def test_an_approval_waits_for_the_cycle_that_holds_the_endorsement(make_app, postgres_schema):
    """The job moving the endorsement into grace while staff approve: the approval waits, then renews it
    from grace (as the history and the audit say), keeping the anniversary."""
    if postgres_schema is None:
        require("PostgreSQL", "row locks need a database that several connections share")
    app = make_app()
    make_admin(app)
    ends = utc_today() - DAY
    renewal_id = submitted_renewal(app, period_ends_on=ends)
    admin = logged_in(app, ADMIN)
    html = page_of(admin, renewal_id)
    engine, connection, transaction = _holding_the_endorsement(
        postgres_schema, renewal_id, "UPDATE endorsement SET status = 'grace' WHERE id = :id"
    )

    def cycle_commits():
        time.sleep(1)
        transaction.commit()
        connection.close()
        return 0

    try:
        status, _ = run_together(
            lambda: post(admin, renewal_id, "approve", "approve", {}, html=html).status_code, cycle_commits
        )
    finally:
        engine.dispose()
    assert status == 302
    _, endorsement = state(app, renewal_id)
    assert endorsement.status is S.ACTIVE
    assert (endorsement.period_starts_on, endorsement.period_ends_on) == (ends + DAY, add_months(ends, 12))
    with app.app_context():
        (event,) = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == AuditAction.RENEWAL_APPROVED.value)
        ).all()
        assert event.details["before"] == "grace"
