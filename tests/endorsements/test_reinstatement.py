"""Reinstating a lapsed endorsement: its holder opens a new application of the same credential, category and
mentor track from their dashboard; it needs three new ratings (none from before the lapse is reused) and
goes through the review as any other; endorsed, it reinstates the same number with a new period. Refused,
with nothing changed, for an endorsement not lapsed, someone else's, an unknown number, or a second open
reinstatement (also two tabs at once). And the whole year with the portal's clock frozen: endorsed,
renewal window, reminders, grace, lapse, reinstatement, in the registry again."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from refportal.accounts.models import Role
from refportal.applications.categories import Credential, MentorTrack
from refportal.applications.fees import fee_breakdown
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.applications.services import withdraw_application
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.db import utc_today, utcnow
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.endorsements.models import Endorsement, EndorsementChange
from refportal.endorsements.reinstatement import open_reinstatement
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.references.models import Rating, Reference
from refportal.references.reuse import request_reuse, reusable_ratings
from refportal.reviews.decisions import apply_decision
from refportal.reviews.models import Decision
from refportal.submission.services import submit_application
from refportal.worker.schedule import registered_jobs, run_due_jobs
from tests.builders import REFEREES as BUILT_REFEREES
from tests.builders import ask_three_referees, logged_in, make_submitted_application, rate, settle_fees
from tests.endorsements.helpers import FrozenClock, endorse, lapse, set_listing
from tests.factories import declare_current_membership, make_application, make_user, record_eligibility
from tests.portfolio.helpers import enter_evidence
from tests.references.helpers import REFEREES, full_answers, nominate_three, referee_path, submit_rating
from tests.references.helpers import send_requests as send_reference_requests
from tests.support import require, run_together
from tests.web import csrf_token_from, link_in

S = EndorsementStatus
DAY = timedelta(days=1)


def reinstate_url(number: str) -> str:
    return f"/endorsements/{number}/reinstate"


def applications_of(app, email: str) -> list[Application]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                sa.select(Application).where(Application.applicant.has(email=email)).order_by(Application.id)
            )
        )
        db.session.expunge_all()
        return rows


def stored(app, number: str) -> Endorsement:
    with app.app_context():
        endorsement = db.session.scalars(sa.select(Endorsement).where(Endorsement.number == number)).one()
        _ = endorsement.changes
        db.session.expunge_all()
        return endorsement


def set_status(app, number: str, status: EndorsementStatus) -> None:
    with app.app_context():
        endorsement = db.session.scalars(sa.select(Endorsement).where(Endorsement.number == number)).one()
        endorsement.status = status
        db.session.commit()


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def audited(app, action: AuditAction) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == action))


def post_reinstate(browser, number: str):
    """POST the reinstatement with a valid CSRF token (from the dashboard, whatever the page offers)."""
    token = csrf_token_from(browser.get("/endorsements/registry-listing").get_data(as_text=True))
    return browser.client.post(reinstate_url(number), data={"csrf_token": token})


# ------------------------------------------------------------------------------------------------
# Opening a reinstatement


def test_the_lapsed_endorsee_opens_the_reinstatement_of_the_same_credential_category_and_track(app):
    number = endorse(
        app,
        name="Mo Mentor",
        email="mo@example.org",
        credential=Credential.ECMH_E,
        category=4,
        mentor_track=MentorTrack.POLICY,
    )
    lapse(app, number)
    browser = logged_in(app, "mo@example.org")
    dashboard = browser.get("/dashboard").get_data(as_text=True)
    assert f'href="{reinstate_url(number)}"' in dashboard

    page = browser.get(reinstate_url(number)).get_data(as_text=True)
    assert "New experience" in page and "Three new reference ratings" in page
    assert "the reinstatement fee and the processing fee of this category" in page
    schedule = app.config["FEE_SCHEDULE"]
    fee = app.config["ENDORSEMENT_REINSTATEMENT_FEE"]
    for membership_fee_due in (True, False):
        total = fee_breakdown(
            schedule=schedule, category=4, membership_fee_due=membership_fee_due, reinstatement_fee=fee
        ).total
        assert f"<strong>{total}</strong>" in page
    assert total == fee + schedule["processing"][4]
    assert "Open the reinstatement" in page

    response = browser.submit(reinstate_url(number), {})
    assert response.status_code == 302
    [application] = applications_of(app, "mo@example.org")[1:]
    assert response.headers["Location"].endswith(f"/applications/{application.id}")
    assert (application.credential, application.category, application.mentor_track) == (
        Credential.ECMH_E,
        4,
        MentorTrack.POLICY,
    )
    assert application.status is ApplicationStatus.DRAFT and application.reinstates_endorsement_id is not None
    assert stored(app, number).id == application.reinstates_endorsement_id
    page = browser.get(f"/applications/{application.id}").get_data(as_text=True)
    assert f"Reinstatement of {number}" in page
    assert audited(app, AuditAction.ENDORSEMENT_REINSTATEMENT_OPENED) == 1
    assert audited(app, AuditAction.APPLICATION_OPENED) == 1
    # The endorsement stays lapsed until the reinstatement is endorsed; its page leads to the application.
    assert stored(app, number).status is S.LAPSED
    page = browser.get(reinstate_url(number)).get_data(as_text=True)
    assert f"Continue the reinstatement of {number}" in page and "Open the reinstatement" not in page


@pytest.mark.parametrize("status", [S.ACTIVE, S.RENEWAL_DUE, S.GRACE, S.RELINQUISHED, S.REVOKED])
def test_an_endorsement_that_is_not_lapsed_is_not_reinstated(app, status):
    number = endorse(app, name="Nat Notlapsed", email="nat@example.org")
    set_status(app, number, status)
    browser = logged_in(app, "nat@example.org")
    page = browser.get(reinstate_url(number)).get_data(as_text=True)
    assert f"is {status.label.lower()}" in page and "Open the reinstatement" not in page
    response = post_reinstate(browser, number)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    expected = "still in force" if status in (S.ACTIVE, S.RENEWAL_DUE, S.GRACE) else "only a lapsed endorsement"
    assert body.count(expected) == 1 and "Open the reinstatement" not in body  # told once, no button
    assert len(applications_of(app, "nat@example.org")) == 1  # the endorsed one only
    assert stored(app, number).status is status
    assert audited(app, AuditAction.ENDORSEMENT_REINSTATEMENT_OPENED) == 0


def test_someone_elses_endorsement_is_not_found(app):
    number = endorse(app, name="Owen Owner", email="owen@example.org")
    lapse(app, number)
    with app.app_context():
        make_user(email="other@example.org", name="Olga Other")
    other = logged_in(app, "other@example.org")
    assert other.get(reinstate_url(number)).status_code == 404
    assert post_reinstate(other, number).status_code == 404
    # The same answer as for a number nobody holds: nothing tells that it exists.
    assert other.get(reinstate_url("IMH-0000ZZZZ")).get_data(as_text=True) == other.get(reinstate_url(number)).get_data(
        as_text=True
    )
    assert applications_of(app, "other@example.org") == [] and len(applications_of(app, "owen@example.org")) == 1


@pytest.mark.parametrize(
    "number", ["IMH-0000ZZZZ", "imh-0000zzzz", "IMH-ILOU0000", "x' OR 1=1 --", "%00", "A" * 500, "ECMH-", "\u202e"]
)
def test_an_unknown_or_hostile_number_is_not_found(app, number):
    owned = endorse(app, name="Hal Hostile", email="hal@example.org")
    lapse(app, owned)
    browser = logged_in(app, "hal@example.org")
    from urllib.parse import quote

    path = f"/endorsements/{quote(number, safe='')}/reinstate"
    assert browser.get(path).status_code == 404
    token = csrf_token_from(browser.get("/dashboard").get_data(as_text=True))
    assert browser.client.post(path, data={"csrf_token": token}).status_code == 404
    assert len(applications_of(app, "hal@example.org")) == 1


def test_a_number_typed_in_lower_case_is_the_holders(app):
    number = endorse(app, name="Lia Lower", email="lia@example.org")
    lapse(app, number)
    browser = logged_in(app, "lia@example.org")
    assert browser.get(reinstate_url(number.lower())).status_code == 200


def test_a_post_without_its_csrf_token_changes_nothing(app):
    number = endorse(app, name="Cy Csrf", email="cy@example.org")
    lapse(app, number)
    browser = logged_in(app, "cy@example.org")
    response = browser.client.post(reinstate_url(number), data={})
    assert response.status_code in (200, 400)
    assert len(applications_of(app, "cy@example.org")) == 1


def test_a_second_open_reinstatement_is_refused_and_a_withdrawn_one_can_be_opened_again(app):
    number = endorse(app, name="Tia Twice", email="tia@example.org")
    lapse(app, number)
    browser = logged_in(app, "tia@example.org")
    assert browser.submit(reinstate_url(number), {}).status_code == 302
    response = post_reinstate(browser, number)
    assert f"You have opened the reinstatement of {number} already" in response.get_data(as_text=True)
    assert len(applications_of(app, "tia@example.org")) == 2
    assert audited(app, AuditAction.ENDORSEMENT_REINSTATEMENT_OPENED) == 1
    # The service refuses it too, whoever calls it.
    with app.app_context(), app.test_request_context():
        endorsement = db.session.scalars(sa.select(Endorsement).where(Endorsement.number == number)).one()
        with pytest.raises(Refused, match="already"):
            open_reinstatement(endorsement=endorsement, actor=endorsement.holder)
        db.session.rollback()
        # Withdrawn, it is no longer open: the endorsee may open the reinstatement again.
        first = db.session.scalars(
            sa.select(Application).where(Application.reinstates_endorsement_id.is_not(None))
        ).one()
        withdraw_application(application=first, actor=first.applicant)
        db.session.commit()
    assert browser.submit(reinstate_url(number), {}).status_code == 302
    statuses = [a.status for a in applications_of(app, "tia@example.org")]
    assert statuses == [ApplicationStatus.ENDORSED, ApplicationStatus.WITHDRAWN, ApplicationStatus.DRAFT]


def test_another_open_application_of_the_holder_is_refused_with_its_reason(app):
    number = endorse(app, name="Ada Active", email="ada@example.org")
    lapse(app, number)
    browser = logged_in(app, "ada@example.org")
    opened = browser.submit("/applications/new", {"credential": "imh-e", "category": "1", "mentor_track": ""})
    assert opened.status_code == 302
    response = post_reinstate(browser, number)
    assert "You already have an active application" in response.get_data(as_text=True)
    assert [a.reinstates_endorsement_id for a in applications_of(app, "ada@example.org")] == [None, None]


def test_the_database_holds_one_open_reinstatement_per_endorsement(app):
    """The partial unique index: a second open application for the same endorsement cannot be stored,
    even by code that skips the service's check; a closed one does not count."""
    number = endorse(app, name="Ida Index", email="ida@example.org")
    lapse(app, number)
    with app.app_context():
        endorsement = db.session.scalars(sa.select(Endorsement).where(Endorsement.number == number)).one()
        holder = endorsement.holder

        def application(status):
            return Application(
                applicant=holder,
                credential=endorsement.credential,
                category=endorsement.category,
                status=status,
                reinstates_endorsement_id=endorsement.id,
            )

        db.session.add_all([application(ApplicationStatus.WITHDRAWN), application(ApplicationStatus.DENIED)])
        db.session.add(application(ApplicationStatus.DRAFT))
        db.session.commit()
        db.session.add(application(ApplicationStatus.SUBMITTED))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_two_tabs_at_once_open_one_reinstatement(app, postgres_schema):
    if postgres_schema is None:
        require("PostgreSQL", "two requests racing need a database that several connections share")
    number = endorse(app, name="Tom Tabs", email="tom@example.org")
    lapse(app, number)
    for attempt in range(3):
        tabs = [logged_in(app, "tom@example.org") for _ in range(4)]
        tokens = [csrf_token_from(tab.get(reinstate_url(number)).get_data(as_text=True)) for tab in tabs]
        responses = run_together(
            *[
                (lambda tab=tab, token=token: tab.client.post(reinstate_url(number), data={"csrf_token": token}))
                for tab, token in zip(tabs, tokens, strict=True)
            ]
        )
        assert not [r for r in responses if isinstance(r, Exception)], responses
        assert sorted(r.status_code for r in responses) == [200, 200, 200, 302], attempt
        refused = [r.get_data(as_text=True) for r in responses if r.status_code == 200]
        assert all(f"You have opened the reinstatement of {number} already" in body for body in refused)
        with app.app_context():
            open_ones = db.session.scalars(
                sa.select(Application).where(
                    Application.reinstates_endorsement_id.is_not(None), Application.status == ApplicationStatus.DRAFT
                )
            ).all()
            assert len(open_ones) == 1
            withdraw_application(application=open_ones[0], actor=open_ones[0].applicant)  # the next attempt
            db.session.commit()
    assert audited(app, AuditAction.ENDORSEMENT_REINSTATEMENT_OPENED) == 3


# ------------------------------------------------------------------------------------------------
# Ratings from before the lapse are not reused


def test_no_rating_given_before_the_lapse_is_offered_or_reused(app):
    with app.app_context():
        applicant = make_user(email="rue@example.org", name="Rue Reuse")
        earlier = make_submitted_application(applicant)  # three ratings, within their year
        withdraw_application(application=earlier, actor=applicant)
        db.session.commit()
        ratings = db.session.scalars(
            sa.select(Rating).join(Rating.reference).where(Reference.application_id == earlier.id)
        )
        for rating in ratings:
            rating.submitted_at = utcnow() - 20 * DAY  # given before the lapse (10 days ago), 20 days old
        db.session.commit()
        sources = {r.email: r.id for r in earlier.references}
        endorsed = make_application(applicant, status=ApplicationStatus.SUBMITTED)
        with app.test_request_context():
            apply_decision(application=endorsed, outcome=Decision.ENDORSE, message="", actor=None)
            db.session.commit()
        number = db.session.scalar(sa.select(Endorsement.number).where(Endorsement.application_id == endorsed.id))
    lapse(app, number, days_ago=10)
    browser = logged_in(app, "rue@example.org")
    assert browser.submit(reinstate_url(number), {}).status_code == 302
    reinstatement = applications_of(app, "rue@example.org")[-1]
    with app.app_context():
        record_eligibility(db.session.get(Application, reinstatement.id))
        declare_current_membership(db.session.get(Application, reinstatement.id))
        settle_fees(db.session.get(Application, reinstatement.id))

    references_url = f"/applications/{reinstatement.id}/references/"
    page = browser.get(references_url).get_data(as_text=True)
    assert "to reuse it" not in page
    response = browser.submit(
        f"{references_url}reuse/{sources['hana@example.net']}", {}, form_url=references_url, follow_redirects=True
    )
    assert "before your endorsement lapsed" in response.get_data(as_text=True)
    assert "a reinstatement needs three new reference ratings" in response.get_data(as_text=True)
    with app.app_context():
        application = db.session.get(Application, reinstatement.id)
        assert reusable_ratings(application) == []
        assert (
            db.session.scalar(
                sa.select(sa.func.count(Reference.id)).where(Reference.application_id == reinstatement.id)
            )
            == 0
        )
        assert (
            db.session.scalar(
                sa.select(sa.func.count(OutboxEmail.id)).where(OutboxEmail.template == "reference_reuse_request")
            )
            == 0
        )
        # A rating given after the lapse may be reused as any other.
        hana = db.session.get(Reference, sources["hana@example.net"])
        hana.rating.submitted_at = utcnow() - 5 * DAY
        db.session.commit()
        assert [r.email for r in reusable_ratings(application)] == ["hana@example.net"]
        with app.test_request_context():
            request_reuse(application=application, source=hana, actor=application.applicant)
            omar = db.session.get(Reference, sources["omar@example.net"])
            with pytest.raises(Refused, match="before your endorsement lapsed"):
                request_reuse(application=application, source=omar, actor=application.applicant)
        db.session.rollback()


def test_an_ordinary_application_still_offers_the_same_ratings(app):
    """The control: the ratings refused for the reinstatement are offered to an ordinary application."""
    with app.app_context():
        applicant = make_user(email="ora@example.org", name="Ora Ordinary")
        earlier = make_submitted_application(applicant)
        withdraw_application(application=earlier, actor=applicant)
        second = make_application(applicant)
        db.session.commit()
        assert sorted(r.email for r in reusable_ratings(second)) == sorted(e for _, e, _ in BUILT_REFEREES)


# ------------------------------------------------------------------------------------------------
# The decision


def _submitted_reinstatement(app, number: str, email: str) -> int:
    browser = logged_in(app, email)
    assert browser.submit(reinstate_url(number), {}).status_code == 302
    application_id = applications_of(app, email)[-1].id
    with app.app_context():
        application = db.session.get(Application, application_id)
        record_eligibility(application)
        declare_current_membership(application)
        rate(ask_three_referees(application, email_prefix="new."))
        settle_fees(application)  # the processing fee, before submission
        submit_application(application=application, actor=application.applicant, today=utc_today())
        db.session.commit()
    return application_id


def test_an_endorsed_reinstatement_reinstates_the_same_number_with_a_new_period(app):
    number = endorse(app, name="Rex Reinstated", email="rex@example.org")
    lapse(app, number)
    before = stored(app, number)
    application_id = _submitted_reinstatement(app, number, "rex@example.org")
    with app.app_context(), app.test_request_context():
        application = db.session.get(Application, application_id)
        apply_decision(application=application, outcome=Decision.ENDORSE, message="", actor=None)
        db.session.commit()
        renews_on = application.renews_on(app.config["ENDORSEMENT_RENEWAL_MONTHS"])
        decided_on = application.decided_at.date()
    after = stored(app, number)
    assert count(app, Endorsement) == 1 and after.id == before.id
    assert after.status is S.ACTIVE and after.issued_on == before.issued_on
    assert (after.period_starts_on, after.period_ends_on) == (decided_on, renews_on)
    assert after.period_ends_on > before.period_ends_on
    history = [(c.event, c.status) for c in sorted(after.changes, key=lambda change: change.id)]
    assert history[-2:] == [("end_grace", S.LAPSED), ("reinstate", S.ACTIVE)]
    assert audited(app, AuditAction.ENDORSEMENT_REINSTATED) == 1
    assert audited(app, AuditAction.ENDORSEMENT_ISSUED) == 1  # the first endorsement only


@pytest.mark.parametrize("outcome", [Decision.DEFER, Decision.DENY])
def test_a_reinstatement_not_endorsed_leaves_the_endorsement_lapsed(app, outcome):
    number = endorse(app, name="Dee Denied", email="dee@example.org")
    lapse(app, number)
    application_id = _submitted_reinstatement(app, number, "dee@example.org")
    with app.app_context(), app.test_request_context():
        application = db.session.get(Application, application_id)
        apply_decision(application=application, outcome=outcome, message="Feedback.", actor=None)
        db.session.commit()
    assert stored(app, number).status is S.LAPSED
    assert count(app, Endorsement) == 1 and audited(app, AuditAction.ENDORSEMENT_REINSTATED) == 0
    # Decided, it is no longer open: the endorsee may try again.
    assert logged_in(app, "dee@example.org").submit(reinstate_url(number), {}).status_code == 302


def test_a_reinstatement_of_an_endorsement_revoked_meanwhile_is_not_endorsed(app):
    number = endorse(app, name="Vic Revoked", email="vic@example.org")
    lapse(app, number)
    application_id = _submitted_reinstatement(app, number, "vic@example.org")
    set_status(app, number, S.REVOKED)
    with app.app_context(), app.test_request_context():
        application = db.session.get(Application, application_id)
        with pytest.raises(Refused, match="Only a lapsed endorsement can be reinstated"):
            apply_decision(application=application, outcome=Decision.ENDORSE, message="", actor=None)
        db.session.rollback()
        assert db.session.get(Application, application_id).status is ApplicationStatus.SUBMITTED
    assert stored(app, number).status is S.REVOKED and count(app, Endorsement) == 1


# ------------------------------------------------------------------------------------------------
# The whole year, with the portal's clock frozen


def test_the_whole_year_lapse_and_reinstatement(app, outbox, monkeypatch, application_with_three_ratings):
    clock = FrozenClock(monkeypatch, utcnow())
    with app.app_context():
        [job] = [job for job in registered_jobs() if job.name == "endorsement_cycle"]

    def run_job_on(day):
        """The worker's periodic job on that day, as the worker runs it (claimed, its own unit of work)."""
        clock.move_to(day)
        with app.app_context():
            assert run_due_jobs(jobs=(job,)) == ["endorsement_cycle"]

    def notices() -> list[str]:
        return [m.template for m in outbox("a@example.org") if m.template.startswith("endorsement_")]

    # Endorsed through the real decision path: submitted, and decided by an administrator.
    with app.app_context():
        make_user(email="admin@example.org", name="Alex Admin", role=Role.ADMIN)
        application = db.session.get(Application, application_with_three_ratings.id)
        submit_application(application=application, actor=application.applicant, today=utc_today())
        db.session.commit()
    admin = logged_in(app, "admin@example.org")
    file_url = f"/review/applications/{application_with_three_ratings.id}"
    decided = admin.submit(
        f"{file_url}/decision", {"decision-outcome": "endorse", "decision-message": ""}, form_url=file_url
    )
    assert decided.status_code == 302
    assert [m.template for m in outbox("a@example.org")][-1] == "application_decision"
    endorsement = _only_endorsement(app)
    number, ends, issued_on = endorsement.number, endorsement.period_ends_on, endorsement.issued_on
    assert issued_on == clock.today()
    set_listing(app, number, listed=True)
    client = app.test_client()
    assert "Applicant A" in client.get("/registry/?name=applicant").get_data(as_text=True)

    # The year: window (60 days before), reminders (30, 7), grace, grace reminders (7, 21), lapse.
    run_job_on(ends - 61 * DAY)
    assert notices() == []
    run_job_on(ends - 60 * DAY)
    assert notices() == ["endorsement_renewal_open"] and stored(app, number).status is S.RENEWAL_DUE
    run_job_on(ends - 30 * DAY)
    assert notices()[-1] == "endorsement_renewal_reminder" and len(notices()) == 2
    run_job_on(ends - 7 * DAY)
    assert notices()[-1] == "endorsement_renewal_reminder" and len(notices()) == 3
    run_job_on(ends + DAY)
    assert notices()[-1] == "endorsement_grace" and stored(app, number).status is S.GRACE
    assert "Applicant A" in client.get("/registry/?name=applicant").get_data(as_text=True)
    run_job_on(ends + 7 * DAY)
    run_job_on(ends + 21 * DAY)
    assert notices()[-2:] == ["endorsement_grace_reminder"] * 2
    lapses_on = ends + 31 * DAY
    run_job_on(lapses_on)
    assert notices() == [
        "endorsement_renewal_open",
        "endorsement_renewal_reminder",
        "endorsement_renewal_reminder",
        "endorsement_grace",
        "endorsement_grace_reminder",
        "endorsement_grace_reminder",
        "endorsement_lapsed",
    ]
    assert stored(app, number).status is S.LAPSED
    lapsed = outbox("a@example.org")[-1]
    assert f"lapsed on {lapses_on:%B} {lapses_on.day}, {lapses_on.year}" in lapsed.body_text.replace("\n", " ")
    link = link_in(lapsed.body_text, "/endorsements/")
    assert link == reinstate_url(number)

    # Out of the registry: the search no longer finds it, the verification page says not valid.
    assert "Applicant A" not in client.get("/registry/?name=applicant").get_data(as_text=True)
    assert "Not valid today" in client.get(f"/registry/{number}").get_data(as_text=True)

    # The endorsee follows the e-mail's link and opens the reinstatement.
    clock.move_to(lapses_on + 5 * DAY)
    endorsee = logged_in(app, "a@example.org")
    page = endorsee.get(link).get_data(as_text=True)
    assert "Three new reference ratings" in page and "the reinstatement fee and the processing fee" in page
    response = endorsee.submit(link, {})
    assert response.status_code == 302
    application_url = response.headers["Location"]
    reinstatement_id = int(application_url.rstrip("/").rsplit("/", 1)[1])
    assert f"Reinstatement of {number}" in endorsee.get(application_url).get_data(as_text=True)

    # Its file, through the pages: eligibility and membership as they are now, three NEW referees.
    enter_evidence(endorsee, f"/applications/{reinstatement_id}", level="master", training_hours="60", rsc_hours="70")
    endorsee.submit(
        f"/applications/{reinstatement_id}/membership",
        {
            "kind": "current_member",
            "association": "infancy_onward",
            "association_name": "",
            "member_number": "IO-9",
            "expires_on": (clock.today() + 200 * DAY).isoformat(),
        },
    )
    references_page = endorsee.get(f"/applications/{reinstatement_id}/references/").get_data(as_text=True)
    assert "to reuse it" not in references_page  # the ratings of the first application are not offered
    nominate_three(endorsee, reinstatement_id)
    # The reinstatement owes its own fee and the processing fee; the requests wait for the first.
    fees = endorsee.get(f"/applications/{reinstatement_id}").get_data(as_text=True)
    fees = fees[fees.index('id="fees"') :]
    assert "Reinstatement fee" in fees and "Application fee" not in fees and "Processing fee" in fees
    send_reference_requests(endorsee, reinstatement_id, fee_paid=False)
    assert not [m for m in outbox(REFEREES[0]["email"]) if m.template == "reference_request"]
    with app.app_context():
        settle_fees(db.session.get(Application, reinstatement_id))
    assert send_reference_requests(endorsee, reinstatement_id).status_code == 302
    new_referees = [referee["email"] for referee in REFEREES]
    assert not {"hana@example.net", "omar@example.net", "lena@example.net"} & set(new_referees)
    clock.move_to(lapses_on + 9 * DAY)
    for referee in REFEREES:
        path = referee_path(outbox, referee["email"])
        submitted = submit_rating(
            app.test_client(), path, full_answers(attestation_name=referee["name"], referee_role=referee["role"])
        )
        assert "Your rating is submitted" in submitted.get_data(as_text=True), submitted.get_data(as_text=True)
    assert endorsee.submit(f"/applications/{reinstatement_id}/submit", {"attest": "y"}).status_code == 302

    # Staff decide: endorsed.
    clock.move_to(lapses_on + 40 * DAY)
    decision_day = clock.today()
    file_url = f"/review/applications/{reinstatement_id}"
    admin = logged_in(app, "admin@example.org")
    decided = admin.submit(
        f"{file_url}/decision", {"decision-outcome": "endorse", "decision-message": ""}, form_url=file_url
    )
    assert decided.status_code == 302
    decision = outbox("a@example.org")[-1]
    assert decision.template == "application_decision"

    # The same number, in force again, with a new period and its history; no second endorsement.
    after = stored(app, number)
    assert count(app, Endorsement) == 1
    assert after.status is S.ACTIVE and after.issued_on == issued_on
    with app.app_context():
        renews_on = db.session.get(Application, reinstatement_id).renews_on(app.config["ENDORSEMENT_RENEWAL_MONTHS"])
    assert (after.period_starts_on, after.period_ends_on) == (decision_day, renews_on)
    assert [(c.event, c.changed_at.date()) for c in after.changes] == [
        ("issue", issued_on),
        ("open_renewal", ends - 60 * DAY),
        ("end_period", ends + DAY),
        ("end_grace", lapses_on),
        ("reinstate", decision_day),
    ]
    assert "Applicant A" in client.get("/registry/?name=applicant").get_data(as_text=True)
    assert "Valid today" in client.get(f"/registry/{number}").get_data(as_text=True)
    dashboard = endorsee.get("/dashboard").get_data(as_text=True)
    assert number in dashboard and "Lapsed on" not in dashboard

    # The next day's job: nothing to say, the new period's window is months away.
    sent = len(outbox("a@example.org"))
    run_job_on(decision_day + DAY)
    assert len(outbox("a@example.org")) == sent
    with app.app_context():
        actions = list(
            db.session.scalars(
                sa.select(AuditEvent.action).where(AuditEvent.object_type == "endorsement").order_by(AuditEvent.id)
            )
        )
    assert actions == [
        AuditAction.ENDORSEMENT_ISSUED,
        AuditAction.ENDORSEMENT_RENEWAL_OPENED,
        AuditAction.ENDORSEMENT_PERIOD_ENDED,
        AuditAction.ENDORSEMENT_LAPSED,
        AuditAction.ENDORSEMENT_REINSTATEMENT_OPENED,
        AuditAction.ENDORSEMENT_REINSTATED,
    ]
    assert count(app, EndorsementChange) == 5


def _only_endorsement(app) -> Endorsement:
    with app.app_context():
        endorsement = db.session.scalars(sa.select(Endorsement)).one()
        db.session.expunge_all()
        return endorsement
