"""One rule for a complete file: the applicant's checklist and submit button, the reviewer's file page
and the queue's complete/incomplete filter agree, for every membership state, eligibility and ratings."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from flask import current_app

from refportal.accounts.models import Role
from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.extensions import db
from refportal.membership.models import Association, MembershipDeclaration, MembershipKind, MembershipStatus
from refportal.reviews.queue_query import QueueFilters, QueueRules, queue_rows
from refportal.submission.completeness import Progress, completeness_of
from tests.builders import logged_in, with_ratings
from tests.factories import (
    ApplicationFactory,
    UserFactory,
    declare_current_membership,
    make_application,
    make_user,
    record_eligibility,
)

MEMBERSHIPS = (
    "none",
    "declared",
    "verified",
    "rejected",
    "lapsed",  # verified, but its expiry date has passed
    "will_join",
    "will_join_confirmed",
)
ELIGIBILITY = ("met", "not_met", "not_recorded")
RATINGS = (3, 2)


def with_membership(application: Application, state: str) -> None:
    today = utc_today()
    if state == "none":
        return
    if state.startswith("will_join"):
        declaration = MembershipDeclaration(
            application=application, kind=MembershipKind.WILL_JOIN, association=Association.INFANCY_ONWARD
        )
        db.session.add(declaration)
        if state == "will_join_confirmed":
            declaration.status = MembershipStatus.VERIFIED
            declaration.member_number, declaration.expires_on = "IO-NEW", today + timedelta(days=365)
    else:
        declaration = declare_current_membership(application)
        declaration.status = {
            "declared": MembershipStatus.DECLARED,
            "verified": MembershipStatus.VERIFIED,
            "rejected": MembershipStatus.REJECTED,
            "lapsed": MembershipStatus.VERIFIED,
        }[state]
        if state == "lapsed":
            declaration.expires_on = today - timedelta(days=1)
    db.session.commit()


@pytest.fixture
def files(app):
    """One draft application per combination of membership state, eligibility and counted ratings."""
    made = {}
    with app.app_context():
        for number, combination in enumerate(itertools.product(MEMBERSHIPS, ELIGIBILITY, RATINGS)):
            membership, eligibility, ratings = combination
            application = make_application(make_user(name=f"Applicant {number}"), category=2)
            if eligibility == "met":
                record_eligibility(application)
            elif eligibility == "not_met":
                record_eligibility(application, rsc_hours=10)  # category 2 needs 24 hours
            with_membership(application, membership)
            with_ratings(application, ratings)
            made[combination] = application.id
    return made


def test_the_checklist_the_file_and_the_queue_agree_on_every_combination(app, files):
    with app.app_context():
        today = utc_today()
        requirements = current_app.config["ELIGIBILITY_REQUIREMENTS"]
        rules = QueueRules.from_config(current_app.config)
        in_queue = {
            wanted: {row.application.id for row in queue_rows(QueueFilters(completeness=wanted), today, rules)}
            for wanted in ("complete", "incomplete")
        }
        assert in_queue["complete"] | in_queue["incomplete"] == set(files.values())
        assert not in_queue["complete"] & in_queue["incomplete"]
        for (membership, eligibility, ratings), application_id in files.items():
            completeness = completeness_of(db.session.get(Application, application_id), today, requirements)
            expected_complete = (
                eligibility == "met" and membership in ("verified", "will_join_confirmed") and ratings == 3
            )
            expected_ready = (
                eligibility == "met"
                and membership in ("declared", "verified", "will_join", "will_join_confirmed")
                and ratings == 3
            )
            case = (membership, eligibility, ratings)
            assert completeness.complete is expected_complete, case
            assert (application_id in in_queue["complete"]) is expected_complete, case
            assert completeness.ready_to_submit is expected_ready, case
            membership_item = completeness.items[1]
            assert (
                membership_item.progress
                is {
                    "none": Progress.TODO,
                    "declared": Progress.WAITING,
                    "verified": Progress.DONE,
                    "rejected": Progress.TODO,
                    "lapsed": Progress.TODO,
                    "will_join": Progress.WAITING,
                    "will_join_confirmed": Progress.DONE,
                }[membership]
            ), case


def test_the_applicant_and_the_reviewer_see_the_same_verdict(app, files):
    with app.app_context():
        make_user(email="admin@example.org", name="Alex Admin", role=Role.ADMIN)
        applicants = {
            combination: db.session.get(Application, files[combination]).applicant.email
            for combination in (("will_join", "met", 3), ("will_join_confirmed", "met", 3))
        }
    admin = logged_in(app, "admin@example.org")
    for (membership, _, _), email in applicants.items():
        application_id = files[(membership, "met", 3)]
        complete = "yes" if membership == "will_join_confirmed" else "not yet"
        applicant = logged_in(app, email)
        for page in (
            applicant.get(f"/applications/{application_id}"),
            applicant.get("/dashboard"),
            admin.get(f"/review/applications/{application_id}"),
        ):
            body = page.get_data(as_text=True)
            assert f"Complete file</strong>: {complete}" in body, (membership, page.request.path)
        body = applicant.get(f"/applications/{application_id}").get_data(as_text=True)
        assert "Ready to submit</strong>: yes" in body
        listed = admin.get("/review/?completeness=complete").get_data(as_text=True)
        link = f'href="/review/applications/{application_id}"'
        assert (link in listed) is (membership == "will_join_confirmed")


def test_the_queue_reads_the_eligibility_thresholds_as_the_checklist_does(app):
    """Every category and mentor track against education, years of work and hours around the thresholds:
    the SQL the queue uses and the applicant's eligibility check give the same answer."""
    import sqlalchemy as sa

    from refportal.applications.categories import EducationLevel, MentorTrack
    from refportal.applications.eligibility import eligible_clause, evaluate_eligibility, is_eligible
    from refportal.applications.models import EligibilitySource
    from refportal.db import utcnow

    tracks = [(1, None), (2, None), (3, None), *((4, track) for track in MentorTrack)]
    grid = itertools.product(
        tracks, EducationLevel, ("1.5", "2", "40"), ((29, 0), (30, 23), (30, 24), (48, 49), (48, 50))
    )
    with app.app_context():  # built with the flushing factories: the query runs in the same transaction
        applicant = UserFactory()
        applications = [
            ApplicationFactory(
                applicant=applicant,
                category=category,
                mentor_track=track,
                education_level=education,
                work_years=Decimal(years),
                training_hours=training,
                rsc_hours=rsc,
                eligibility_recorded_at=utcnow(),
                eligibility_source=EligibilitySource.SELF_REPORTED,  # typed totals (entries: tests/portfolio)
            )
            for (category, track), education, years, (training, rsc) in grid
        ]
        applications.append(ApplicationFactory(applicant=applicant, category=2))
        requirements = current_app.config["ELIGIBILITY_REQUIREMENTS"]
        in_sql = set(db.session.scalars(sa.select(Application.id).where(eligible_clause(requirements))))
        in_python = {a.id for a in applications if is_eligible(evaluate_eligibility(a, requirements))}
        assert in_sql == in_python
        assert 0 < len(in_python) < len(applications)  # both answers occur
