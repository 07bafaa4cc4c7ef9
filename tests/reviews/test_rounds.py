"""Review rounds, assignment, conflicts of interest and independent reviews, through the pages."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from refportal.accounts.models import Role, User
from refportal.applications.categories import Credential
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.audit.models import AuditEvent
from refportal.db import utc_today, utcnow
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.reviews.models import Decision, Review, ReviewAssignment, ReviewRound
from refportal.reviews.notices import run_review_jobs
from refportal.reviews.progress import change_files
from refportal.reviews.rounds import rounds_with_progress
from refportal.transactions import unit_of_work
from tests.builders import logged_in, make_submitted_application
from tests.factories import make_user
from tests.reviews.helpers import open_round, reviewers, round_id, statements_for, submitted_files, user_id

# ---------------------------------------------------------------------------------------------
# Rounds


def test_a_round_gathers_the_applications_submitted_in_its_period(app, people):
    admin = logged_in(app, "admin@example.org")
    inside = submitted_files(app, 2)
    with app.app_context():
        late = db.session.get(Application, inside[1])
        late.submitted_at = utcnow() + timedelta(days=40)  # after the deadline
        db.session.commit()
    assert open_round(admin).status_code == 302
    rid = round_id(app)
    with app.app_context():
        members = set(db.session.scalars(sa.select(Application.id).where(Application.review_round_id == rid)))
    assert people["application_id"] in members and inside[0] in members and inside[1] not in members
    queue = admin.get(f"/review/?review_round={rid}").get_data(as_text=True)
    assert "File 000" in queue and "File 001" not in queue


def test_a_rounds_progress_counts_each_file_once_in_its_current_cycle(app, people):
    """Files (withdrawn ones aside), fully staffed, fully reviewed in their current cycle, decided."""
    admin = logged_in(app, "admin@example.org")
    assert open_round(admin).status_code == 302
    staffed, half_staffed, reviewed, reviewed_before, withdrawn = submitted_files(app, 5)
    reviewers(app, 2)
    with app.app_context():
        r0, r1 = (user_id(app, f"r{n}@example.org") for n in range(2))
        db.session.add_all(ReviewAssignment(application_id=staffed, reviewer_id=r) for r in (r0, r1))
        db.session.add(ReviewAssignment(application_id=half_staffed, reviewer_id=r0))
        db.session.add_all(
            Review(application_id=reviewed, reviewer_id=r, cycle=1, outcome=Decision.ENDORSE) for r in (r0, r1)
        )
        # Two reviews of the first cycle; the file is in its second cycle now ("more information" came in).
        db.session.add_all(
            Review(application_id=reviewed_before, reviewer_id=r, cycle=1, outcome=Decision.MORE_INFORMATION)
            for r in (r0, r1)
        )
        db.session.get(Application, reviewed_before).review_cycle = 2
        db.session.get(Application, withdrawn).status = ApplicationStatus.WITHDRAWN
        db.session.get(Application, people["application_id"]).status = ApplicationStatus.ENDORSED
        db.session.commit()
        [(review_round, progress)] = rounds_with_progress(utc_today())
    assert review_round.id == round_id(app)
    # Staffed: `staffed` and the fixture's file (its two reviewers); not the half-staffed one.
    assert (progress.files, progress.assigned, progress.reviewed, progress.decided, progress.overdue) == (5, 2, 1, 1, 0)
    page = admin.get("/review/rounds").get_data(as_text=True)
    assert '<td class="num">5</td><td class="num">2</td><td class="num">1</td><td class="num">1</td>' in page


def test_a_submission_joins_the_round_covering_its_day_and_the_applicant_is_told(app, people, outbox):
    admin = logged_in(app, "admin@example.org")
    open_round(admin)
    with app.app_context():
        b = db.session.scalars(sa.select(User).where(User.email == "b@example.org")).one()
        application = make_submitted_application(b, email_prefix="b.")
        assert application.review_round_id == round_id(app)
        due = db.session.get(ReviewRound, application.review_round_id).review_due
        app_id = application.id
    applicant = logged_in(app, "b@example.org")
    page = applicant.get(f"/applications/{app_id}").get_data(as_text=True)
    assert f"reviewed in round 2026 Q4; expect a decision after {due:%d %B %Y}" in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"submission_deadline": date(2026, 1, 1), "opens_on": date(2026, 2, 1)}, "cannot come before the round opens"),
        ({"review_due": date(2026, 1, 1), "submission_deadline": date(2026, 3, 1)}, "cannot be due before"),
        ({"name": "   "}, "Name the round."),
    ],
)
def test_a_bad_round_is_refused_with_a_message(app, people, fields, message):
    admin = logged_in(app, "admin@example.org")
    values = {"opens_on": date(2026, 1, 1), "deadline": date(2026, 3, 31), "due": date(2026, 5, 1), "name": "Bad"}
    values.update({{"submission_deadline": "deadline", "review_due": "due"}.get(k, k): v for k, v in fields.items()})
    response = open_round(admin, values["name"], values["opens_on"], values["deadline"], values["due"])
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReviewRound.id))) == 0


def test_overlapping_or_same_named_rounds_are_refused(app, people):
    admin = logged_in(app, "admin@example.org")
    open_round(admin)
    again = open_round(
        admin, name="2026 q4", opens_on=date(2040, 1, 1), deadline=date(2040, 2, 1), due=date(2040, 3, 1)
    )
    assert again.status_code == 400 and "There is a round called" in again.get_data(as_text=True)
    overlap = open_round(admin, name="Overlap")
    assert overlap.status_code == 400 and "overlaps round 2026 Q4" in overlap.get_data(as_text=True)


def test_the_rounds_page_suggests_the_next_quarter(app, people):
    admin = logged_in(app, "admin@example.org")
    today = utc_today()
    quarter = (today.month - 1) // 3 + 1
    page = admin.get("/review/rounds").get_data(as_text=True)
    assert f'value="{today.year} Q{quarter}"' in page
    assert f'value="{date(today.year, 3 * quarter - 2, 1).isoformat()}"' in page


# ---------------------------------------------------------------------------------------------
# Assignment


def test_auto_assign_balances_40_files_over_5_reviewers(app, people, outbox):
    with app.app_context():  # only the five new reviewers are active
        for user in db.session.scalars(sa.select(User).where(User.role == Role.REVIEWER)):
            user.deactivated_at = utcnow()
        change_files(sa.delete(ReviewAssignment))
        db.session.commit()
    reviewers(app, 5)
    files = submitted_files(app, 39)
    admin = logged_in(app, "admin@example.org")
    open_round(admin)
    rid = round_id(app)
    response = admin.submit(f"/review/rounds/{rid}/auto-assign", {}, form_url=f"/review/rounds/{rid}")
    assert response.status_code == 302
    assert "80 assignment(s) made across 40 file(s)" in admin.get(f"/review/rounds/{rid}").get_data(as_text=True)
    with app.app_context():
        rows = db.session.execute(sa.select(ReviewAssignment.application_id, ReviewAssignment.reviewer_id)).all()
        emails = [
            r.to_address
            for r in db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.template == "review_assignments"))
        ]
    per_file = Counter(a for a, _ in rows)
    per_reviewer = Counter(r for _, r in rows)
    assert set(per_file.values()) == {2} and len(per_file) == len(files) + 1
    assert sorted(per_reviewer.values()) == [16, 16, 16, 16, 16]
    assert sorted(emails) == [f"r{n}@example.org" for n in range(5)]  # one digest each, not one per file
    again = admin.submit(f"/review/rounds/{rid}/auto-assign", {}, form_url=f"/review/rounds/{rid}")
    assert "0 assignment(s) made" in admin.get(again.headers["Location"]).get_data(as_text=True)


def test_auto_assign_skips_a_conflicted_reviewer_and_refuses_with_too_few(app, people):
    with app.app_context():
        change_files(sa.delete(ReviewAssignment))
        db.session.commit()
    admin = logged_in(app, "admin@example.org")
    open_round(admin)
    rid = round_id(app)
    with app.app_context():  # Rita is one of applicant A's referees
        rita = db.session.scalars(sa.select(User).where(User.email == "rev@example.org")).one()
        rita.email = "hana@example.net"
        db.session.commit()
        rita_id = rita.id
    response = admin.submit(f"/review/rounds/{rid}/auto-assign", {}, form_url=f"/review/rounds/{rid}")
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 file(s) still lack reviewers without a conflict" in page
    with app.app_context():
        assigned = set(db.session.scalars(sa.select(ReviewAssignment.reviewer_id)))
        assert rita_id not in assigned and len(assigned) == 1
        for user in db.session.scalars(sa.select(User).where(User.role == Role.REVIEWER)):
            user.deactivated_at = utcnow()
        db.session.commit()
        before = db.session.scalar(sa.select(sa.func.count(ReviewAssignment.id)))
    response = admin.submit(f"/review/rounds/{rid}/auto-assign", {}, form_url=f"/review/rounds/{rid}")
    assert "needs at least 2 active reviewers; there are 0" in admin.get(response.headers["Location"]).get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReviewAssignment.id))) == before


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("a@example.org", "is not a reviewer"),
        ("hana", "conflict of interest: is one of the applicant&#39;s referees"),
        ("inactive", "deactivated"),
        ("rev@example.org", "assigned to this file already"),
        ("third", "has its 2 reviewers already"),
    ],
)
def test_assigning_by_hand_refuses_with_a_message(app, people, who, message):
    with app.app_context():
        if who == "hana":
            make_user(email="hana@example.net", name="Hana Ito", role=Role.REVIEWER)
        if who == "inactive":
            change_files(sa.delete(ReviewAssignment))
            user = make_user(email="gone@example.org", name="Gone", role=Role.REVIEWER)
            user.deactivated_at = utcnow()
        if who == "third":
            make_user(email="third@example.org", name="Third", role=Role.REVIEWER)
        db.session.commit()
    email = {"hana": "hana@example.net", "inactive": "gone@example.org", "third": "third@example.org"}.get(who, who)
    admin = logged_in(app, "admin@example.org")
    file_url = f"/review/applications/{people['application_id']}"
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count(ReviewAssignment.id)))
    response = admin.submit(f"{file_url}/assignments", {"reviewer": str(user_id(app, email))}, form_url=file_url)
    assert response.status_code == 302
    assert message in admin.get(file_url).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReviewAssignment.id))) == before


def test_hand_assignments_go_out_in_the_workers_digest(app, people, outbox):
    with app.app_context():
        change_files(sa.delete(ReviewAssignment))
        db.session.commit()
    admin = logged_in(app, "admin@example.org")
    file_url = f"/review/applications/{people['application_id']}"
    admin.submit(f"{file_url}/assignments", {"reviewer": str(user_id(app, "rev@example.org"))}, form_url=file_url)
    assert not [m for m in outbox("rev@example.org") if m.template == "review_assignments"]
    with app.app_context():
        with unit_of_work():  # as the worker runs its jobs
            ran = run_review_jobs()
        assert ran.startswith("1 assignment digest(s)")
        with unit_of_work():  # as the worker runs its jobs
            ran = run_review_jobs()
        assert ran.startswith("0 assignment digest(s)")
    [digest] = [m for m in outbox("rev@example.org") if m.template == "review_assignments"]
    assert "Applicant A" in digest.body_text and "/review/mine" in digest.body_text


def test_a_reminder_goes_out_once_before_the_due_date(app, people, outbox):
    admin = logged_in(app, "admin@example.org")
    open_round(admin, deadline=utc_today(), due=utc_today() + timedelta(days=2))
    with app.app_context():
        for _ in range(2):  # the second run finds nothing more to remind of
            with unit_of_work():  # as the worker runs its jobs
                run_review_jobs()
    reminded = [m.to_address for m in outbox() if m.template == "review_reminder"]
    assert sorted(reminded) == ["rev2@example.org", "rev@example.org"]


def test_my_files_lists_the_assignments_with_due_dates(app, people):
    admin = logged_in(app, "admin@example.org")
    open_round(admin)
    page = logged_in(app, "rev@example.org").get("/review/mine").get_data(as_text=True)
    assert "Applicant A" in page and "2026 Q4" in page and "To do" in page
    assert "No file is assigned to you." in logged_in(app, "admin@example.org").get("/review/mine").get_data(
        as_text=True
    )


# ---------------------------------------------------------------------------------------------
# Conflicts and independence


def review(browser, people, outcome="endorse", notes=""):
    url = f"/review/applications/{people['application_id']}"
    return browser.submit(f"{url}/review", {"outcome": outcome, "notes": notes, "message": ""}, form_url=url)


def test_a_referee_of_the_applicant_cannot_read_the_ratings_or_review(app, people):
    with app.app_context():
        make_user(email="omar@example.net", name="Omar Reviewer", role=Role.REVIEWER)
    omar = logged_in(app, "omar@example.org".replace(".org", ".net"))
    url = f"/review/applications/{people['application_id']}"
    page = omar.get(url).get_data(as_text=True)
    assert "conflict of interest" in page
    assert "is one of the applicant&#39;s referees (submitted, this application)" in page
    assert "Strengths by" not in page and 'table class="matrix"' not in page
    assert omar.get(f"{url}/ratings.csv").status_code == 404
    response = review(omar, people)
    assert response.status_code == 400 and "conflict of interest" in response.get_data(as_text=True)
    verified = omar.submit(f"{url}/membership", {"verdict": "verify", "note": ""}, form_url=url)
    assert verified.status_code == 400 and "you cannot act on it" in verified.get_data(as_text=True)
    with app.app_context():
        from refportal.membership.models import MembershipDeclaration, MembershipStatus

        assert db.session.scalars(sa.select(MembershipDeclaration.status)).first() is MembershipStatus.DECLARED
    admin_page = logged_in(app, "admin@example.org").get(url).get_data(as_text=True)
    assert "Omar Reviewer: is one of the applicant&#39;s referees" in admin_page


def test_a_reviewer_from_the_applicants_organisation_is_conflicted(app, people):
    with app.app_context():
        application = db.session.get(Application, people["application_id"])
        application.employer = "Riverside Family Services"
        change_files(sa.delete(ReviewAssignment))
        db.session.commit()
    admin = logged_in(app, "admin@example.org")
    invited = admin.submit(
        "/admin/users/invite",
        {
            "name": "Rene Riverside",
            "email": "rene@example.org",
            "role": "reviewer",
            "organisation": "riverside family services",
        },
        form_url="/admin/users",
    )
    assert invited.status_code == 302
    file_url = f"/review/applications/{people['application_id']}"
    page = admin.get(file_url).get_data(as_text=True)
    assert "Rene Riverside: works at the applicant&#39;s organisation (Riverside Family Services)" in page
    rene = user_id(app, "rene@example.org")
    admin.submit(f"{file_url}/assignments", {"reviewer": str(rene)}, form_url=file_url)
    assert "has a conflict of interest: works at the applicant" in admin.get(file_url).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReviewAssignment.id))) == 0


def test_a_recusal_unassigns_hides_the_ratings_and_cannot_be_made_twice(app, people):
    rita = logged_in(app, "rev@example.org")
    url = f"/review/applications/{people['application_id']}"
    assert "Strengths by" in rita.get(url).get_data(as_text=True)
    rita.submit(f"{url}/recuse", {"reason": "I supervised her practicum"}, form_url=url)
    page = rita.get(url).get_data(as_text=True)
    assert "recused: I supervised her practicum" in page and "Strengths by" not in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReviewAssignment.id))) == 1
    token_page = rita.get(url).get_data(as_text=True)
    assert "Recuse me from this file" not in token_page
    from tests.web import csrf_token_from

    again = rita.client.post(f"{url}/recuse", data={"csrf_token": csrf_token_from(token_page), "reason": "again"})
    assert again.status_code == 400
    assert "recused yourself from this file already" in again.get_data(as_text=True)
    assert review(rita, people).status_code == 400


def test_a_recusal_covers_every_application_of_the_applicant(app, people):
    """A conflict is with a person: after recusing from one file, the reviewer reads none of the
    applicant's later files' ratings (their referees' ratings may be reused there), cannot be assigned
    to them or review them; and is unassigned from the applicant's other undecided file."""
    first_url = f"/review/applications/{people['application_id']}"
    with app.app_context():
        applicant = db.session.scalars(sa.select(User).where(User.email == "a@example.org")).one()
        rita_id = db.session.scalar(sa.select(User.id).where(User.email == "rev@example.org"))
        pending = Application(
            applicant=applicant, credential=Credential.ECMH_E, category=2, status=ApplicationStatus.SUBMITTED
        )
        db.session.add(pending)
        db.session.flush()
        db.session.add(ReviewAssignment(application_id=pending.id, reviewer_id=rita_id))
        db.session.commit()
        pending_id = pending.id
    rita = logged_in(app, "rev@example.org")
    rita.submit(f"{first_url}/recuse", {"reason": "She is my sister-in-law"}, form_url=first_url)
    with app.app_context():
        assert not db.session.scalars(sa.select(ReviewAssignment).where(ReviewAssignment.reviewer_id == rita_id)).all()
        later = make_submitted_application(applicant, email_prefix="later-")
        later_id = later.id
    later_url = f"/review/applications/{later_id}"
    page = rita.get(later_url).get_data(as_text=True)
    assert f"recused from application {people['application_id']}: She is my sister-in-law" in page
    assert "Strengths by" not in page and 'table class="matrix"' not in page
    assert rita.get(f"{later_url}/ratings.csv").status_code == 404
    assert review(rita, {"application_id": later_id}).status_code == 400
    admin = logged_in(app, "admin@example.org")
    admin.submit(f"{later_url}/assignments", {"reviewer": str(rita_id)}, form_url=later_url)
    assert "Rita Reviewer has a conflict of interest: recused from application" in admin.get(later_url).get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.get(Application, pending_id) is not None
        assert not db.session.scalars(sa.select(ReviewAssignment).where(ReviewAssignment.reviewer_id == rita_id)).all()


def test_an_unassigned_reviewer_reads_but_cannot_review(app, people):
    with app.app_context():
        make_user(email="rev3@example.org", name="Ravi Reviewer", role=Role.REVIEWER)
    ravi = logged_in(app, "rev3@example.org")
    url = f"/review/applications/{people['application_id']}"
    page = ravi.get(url).get_data(as_text=True)
    assert "Strengths by" in page and "Record my review" not in page
    response = review(ravi, people)
    assert response.status_code == 400 and "Only the reviewers assigned to this file" in response.get_data(as_text=True)
    app.config["REVIEWERS_READ_UNASSIGNED"] = False
    assert ravi.get(url).status_code == 404
    assert "Applicant A" not in ravi.get("/review/").get_data(as_text=True)
    assert "Applicant A" in logged_in(app, "rev@example.org").get("/review/").get_data(as_text=True)


def test_a_reviewer_sees_the_others_recommendation_only_after_recording_their_own(app, people):
    app.config["REVIEW_AUTO_DECIDE"] = False
    url = f"/review/applications/{people['application_id']}"
    review(logged_in(app, "rev@example.org"), people, "deny", notes="Rita's reasons")
    rafe = logged_in(app, "rev2@example.org")
    before = rafe.get(url).get_data(as_text=True)
    assert "Rita&#39;s reasons" not in before and "Rita Reviewer</strong>" not in before
    assert "outcome: deny" not in before  # nor through the audit trail
    assert "shown once you have recorded your own" in before
    review(rafe, people, "endorse")
    after = rafe.get(url).get_data(as_text=True)
    assert "Rita&#39;s reasons" in after and "outcome: deny" in after
    admin = logged_in(app, "admin@example.org").get(url).get_data(as_text=True)
    assert "Rita&#39;s reasons" in admin


def test_a_recused_reviewers_review_no_longer_counts_toward_the_decision(app, people):
    url = f"/review/applications/{people['application_id']}"
    rita = logged_in(app, "rev@example.org")
    review(rita, people, "endorse")
    rita.submit(f"{url}/recuse", {"reason": "I found I know her"}, form_url=url)
    review(logged_in(app, "rev2@example.org"), people, "endorse")
    with app.app_context():
        assert db.session.get(Application, people["application_id"]).status is ApplicationStatus.SUBMITTED


def test_reading_the_ratings_is_on_the_audit_trail(app, people):
    url = f"/review/applications/{people['application_id']}"
    logged_in(app, "rev@example.org").get(url)
    logged_in(app, "rev2@example.org").get(f"{url}/ratings.csv")
    with app.app_context():
        readers = (
            db.session.execute(
                sa.select(User.email)
                .join(AuditEvent, AuditEvent.actor_id == User.id)
                .where(AuditEvent.action == "file.ratings_read")
            )
            .scalars()
            .all()
        )
    assert sorted(readers) == ["rev2@example.org", "rev@example.org"]


def test_the_endorsement_states_its_renewal_date(app, people, outbox):
    review(logged_in(app, "rev@example.org"), people)
    review(logged_in(app, "rev2@example.org"), people)
    with app.app_context():
        decided = db.session.get(Application, people["application_id"]).decided_at.date()
    renews = date(decided.year + 1, decided.month, min(decided.day, 28 if decided.month == 2 else decided.day))
    email = outbox("a@example.org")[-1]
    assert f"renew by {renews:%B} {renews.day}, {renews.year}" in email.body_text  # the e-mail's long date
    page = logged_in(app, "a@example.org").get(f"/applications/{people['application_id']}").get_data(as_text=True)
    assert f"renews by {renews:%d %B %Y}" in page


# ---------------------------------------------------------------------------------------------
# Statements


def test_the_new_pages_cost_the_same_statements_at_10_and_200_files(app, people):
    admin = logged_in(app, "admin@example.org")
    rita = logged_in(app, "rev@example.org")
    open_round(admin)
    rid = round_id(app)
    reviewers(app, 3)

    def measure():
        return [
            statements_for(app, rita, "/review/mine"),
            statements_for(app, admin, "/review/rounds"),
            statements_for(app, admin, f"/review/rounds/{rid}"),
            statements_for(app, admin, f"/review/applications/{people['application_id']}"),
            statements_for(app, rita, f"/review/?review_round={rid}&mine=assigned"),
        ]

    submitted_files(app, 10)
    admin.submit(f"/review/rounds/{rid}/auto-assign", {}, form_url=f"/review/rounds/{rid}")
    small = measure()
    submitted_files(app, 190, start=10)
    admin.submit(f"/review/rounds/{rid}/auto-assign", {}, form_url=f"/review/rounds/{rid}")
    large = measure()
    assert small == large, (small, large)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReviewAssignment.id))) == 201 * 2
