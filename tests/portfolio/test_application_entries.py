"""An application's eligibility from its evidence entries: each rule at its boundaries per category,
credential and mentor track; the old self-reported totals kept and marked; the entry rules; the migration
that marks the old applications; the evidence page, submitting, and the reviewer's file."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from refportal.accounts.models import Role
from refportal.applications import evidence
from refportal.applications.categories import Credential, EducationLevel, MentorTrack
from refportal.applications.eligibility import eligible_clause, evaluate_eligibility, is_eligible
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application, EligibilitySource
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.config import DEFAULT_ELIGIBILITY_REQUIREMENTS
from refportal.db import utc_today, utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.portfolio.models import EducationEntry, RscEntry, TrainingEntry, WorkEntry
from tests.builders import ask_three_referees, rate, settle_fees
from tests.factories import declare_current_membership, make_application, make_user, record_eligibility
from tests.portfolio.helpers import add_education, add_rsc, add_training, add_work, record_evidence, token_from
from tests.portfolio.helpers import post_entry as post_application_entry
from tests.reviews.helpers import statements_for
from tests.support import migrating_app
from tests.web import Browser

REQUIREMENTS = DEFAULT_ELIGIBILITY_REQUIREMENTS


def met(application: Application) -> list[bool | None]:
    return [c.met for c in evaluate_eligibility(application, REQUIREMENTS)]


@pytest.fixture
def applicant(app):
    with app.app_context():
        user = make_user(email="ev@example.org")
        yield user


def new(applicant, category=2, credential=Credential.IMH_E, track=None) -> Application:
    return make_application(applicant, category=category, credential=credential, mentor_track=track)


# ---------------------------------------------------------------------------------------------
# The rules from entries, at their boundaries


def test_no_entries_is_not_met_never_not_recorded(applicant):
    application = new(applicant)
    assert met(application) == [False, False, False]
    assert not is_eligible(evaluate_eligibility(application, REQUIREMENTS))


@pytest.mark.parametrize(
    "category, track, education, training, rsc, expected",
    [
        (1, None, EducationLevel.CDA, "30", None, [True, True, True]),  # no RSC required
        (1, None, EducationLevel.HIGH_SCHOOL, "29.75", None, [False, False, True]),
        (2, None, EducationLevel.BACHELOR, "30", "24", [True, True, True]),
        (2, None, EducationLevel.ASSOCIATE, "30", "23.75", [False, True, False]),
        (3, None, EducationLevel.MASTER, "30", "50", [True, True, True]),
        (3, None, EducationLevel.BACHELOR, "30", "49.75", [False, True, False]),
        (4, MentorTrack.CLINICAL, EducationLevel.DOCTORATE, "48", "50", [True, True, True]),
        (4, MentorTrack.CLINICAL, EducationLevel.MASTER, "47.75", "49.75", [True, False, False]),
        (4, MentorTrack.POLICY, EducationLevel.MASTER, "48", None, [True, True, True]),
        (4, MentorTrack.RESEARCH, EducationLevel.BACHELOR, "48", None, [False, True, True]),
    ],
)
def test_each_category_and_track_at_its_thresholds(applicant, category, track, education, training, rsc, expected):
    application = new(applicant, category=category, track=track)
    record_evidence(application, education=education, training=training, rsc=rsc)
    assert met(application) == expected


def test_the_highest_education_counts(applicant):
    application = new(applicant, category=3)
    add_education(application, EducationLevel.MASTER, 2010)
    add_education(application, EducationLevel.BACHELOR, 2015)
    check = evaluate_eligibility(application, REQUIREMENTS)[0]
    assert check.met and check.recorded.startswith("Master's degree;")


def _full_time_years(applicant, days: int, credential=Credential.IMH_E, hours=40, serves=(True, False)):
    today = utc_today()
    application = new(applicant, category=1, credential=credential)
    add_education(application, EducationLevel.HIGH_SCHOOL)
    add_work(
        application,
        starts_on=today - timedelta(days=days - 1),
        ends_on=today,
        hours_per_week=hours,
        serves_0_3=serves[0],
        serves_3_6=serves[1],
    )
    return application


def test_category_one_years_of_work_instead_of_a_cda_at_the_boundary(applicant):
    """Two years are 730.5 days of full-time work (days ÷ 365.25): 731 days count, 730 do not."""
    assert met(_full_time_years(applicant, 731))[0] is True
    db.session.rollback()
    assert met(_full_time_years(applicant, 730))[0] is False


def test_part_time_work_is_weighted_by_hours_over_forty_and_more_counts_as_full_time(applicant):
    assert met(_full_time_years(applicant, 731, hours=20))[0] is False
    db.session.rollback()
    assert met(_full_time_years(applicant, 1462, hours=20))[0] is True  # four years at half time
    db.session.rollback()
    assert met(_full_time_years(applicant, 730, hours=80))[0] is False  # 80 hours a week count as 40


def test_work_counts_only_with_the_credentials_ages(applicant):
    """0–3 for the IMH-E, 3 up to 6 for the ECMH-E."""
    assert met(_full_time_years(applicant, 800, Credential.ECMH_E, serves=(True, False)))[0] is False
    db.session.rollback()
    assert met(_full_time_years(applicant, 800, Credential.ECMH_E, serves=(False, True)))[0] is True
    db.session.rollback()
    assert met(_full_time_years(applicant, 800, Credential.IMH_E, serves=(False, True)))[0] is False


def test_overlapping_work_never_counts_more_than_the_calendar(applicant):
    today = utc_today()
    application = new(applicant, category=1)
    for _ in range(3):  # three full-time jobs at once for 400 days
        add_work(application, starts_on=today - timedelta(days=399), ends_on=None)
    years = evidence.evidence_of(application).work_years
    assert years == Decimal(400) / Decimal("365.25")


def test_an_ongoing_job_counts_up_to_the_day_evaluated_and_a_submitted_file_stops_on_its_day(applicant):
    today = utc_today()
    application = new(applicant, category=1)
    add_work(application, starts_on=today - timedelta(days=99), ends_on=None)
    assert evidence.evidence_of(application).work_years == Decimal(100) / Decimal("365.25")
    application.status = ApplicationStatus.SUBMITTED
    application.submitted_at = datetime.combine(today - timedelta(days=50), datetime.min.time())
    assert evidence.evidence_of(application).work_years == Decimal(50) / Decimal("365.25")


def test_rsc_counts_where_the_provider_gave_a_credential(applicant):
    application = new(applicant, category=2)
    record_evidence(application, education=EducationLevel.BACHELOR, training="30", rsc=None)
    add_rsc(application, "24", credential=None)
    rsc = evaluate_eligibility(application, REQUIREMENTS)[2]
    assert rsc.met is False and rsc.recorded == "0 hours from providers with a credential (24 hours in all)"
    add_rsc(application, "24", credential="IMH-E Mentor–Clinical")
    rsc = evaluate_eligibility(application, REQUIREMENTS)[2]
    assert rsc.met is True and rsc.required == "at least 24 hours from a provider with a credential"


def test_the_queue_reads_the_stored_totals_as_the_checklist_reads_the_entries(applicant):
    """For applications reading entries, `eligible_clause` over the totals stored after each change agrees
    with `evaluate_eligibility` over the entries, across categories, tracks and boundaries."""
    tracks = [(1, None), (2, None), (3, None), *((4, t) for t in MentorTrack)]
    grid = itertools.product(
        tracks, (None, EducationLevel.HIGH_SCHOOL, EducationLevel.MASTER), ("29.75", "48"), (None, "23.75", "50")
    )
    applications = []
    for (category, track), education, training, rsc in grid:
        application = new(applicant, category=category, track=track)
        record_evidence(application, education=education, training=training, rsc=rsc)
        if category == 1 and education is None:
            add_work(application, starts_on=utc_today() - timedelta(days=730), ends_on=None)
        applications.append(application)
    db.session.flush()
    in_sql = set(db.session.scalars(sa.select(Application.id).where(eligible_clause(REQUIREMENTS))))
    in_python = {a.id for a in applications if is_eligible(evaluate_eligibility(a, REQUIREMENTS))}
    assert in_sql == in_python and in_python and len(in_python) < len(applications)


# ---------------------------------------------------------------------------------------------
# Old applications keep their self-reported totals


def test_self_reported_totals_are_kept_and_say_so(applicant):
    application = new(applicant, category=2)
    record_eligibility(application, education=EducationLevel.BACHELOR, training_hours=30, rsc_hours=24)
    checks = evaluate_eligibility(application, REQUIREMENTS)
    assert application.eligibility_source is EligibilitySource.SELF_REPORTED
    assert [c.met for c in checks] == [True, True, True]
    assert all("(self-reported)" in c.recorded for c in checks)
    assert checks[1].recorded == "30 hours (self-reported)"


def test_a_self_reported_application_takes_no_entries(applicant):
    application = new(applicant)
    record_eligibility(application)
    with pytest.raises(Refused, match="recorded as totals"):
        add_training(application)
    assert application.portfolio_id is None


def test_an_application_reading_entries_refuses_typed_totals(applicant):
    from refportal.applications.services import record_eligibility as record_totals

    application = new(applicant)
    with pytest.raises(Refused, match="evidence entries"):
        record_totals(
            application=application,
            actor=applicant,
            education_level=EducationLevel.MASTER,
            work_years=Decimal(3),
            training_hours=40,
            rsc_hours=40,
        )
    assert application.eligibility_recorded_at is None


# ---------------------------------------------------------------------------------------------
# The entry rules


@pytest.mark.parametrize(
    "starts, ends, hours, message",
    [
        (-10, -11, 40, "end date is before the start date"),
        (1, None, 40, "start date is in the future"),
        (-10, 1, 40, "end date is in the future"),
        (-10, None, 0, "between 1 and 80"),
        (-10, None, 81, "between 1 and 80"),
    ],
)
def test_work_entries_refuse_impossible_dates_and_hours(applicant, starts, ends, hours, message):
    today = utc_today()
    application = new(applicant)
    with pytest.raises(Refused, match=message):
        add_work(
            application,
            starts_on=today + timedelta(days=starts),
            ends_on=None if ends is None else today + timedelta(days=ends),
            hours_per_week=hours,
        )
    assert db.session.scalar(sa.select(sa.func.count(WorkEntry.id))) == 0


def test_work_boundaries_are_accepted(applicant):
    today = utc_today()
    application = new(applicant)
    add_work(application, starts_on=date(1950, 1, 1), ends_on=today, hours_per_week=1)
    add_work(application, starts_on=today, ends_on=today, hours_per_week=80)
    with pytest.raises(Refused, match="1950 or later"):
        add_work(application, starts_on=date(1949, 12, 31), ends_on=None)


def test_education_years_and_levels(applicant):
    application = new(applicant)
    add_education(application, year=1950)
    add_education(application, year=utc_today().year)
    for year in (1949, utc_today().year + 1):
        with pytest.raises(Refused, match="Enter a year between 1950"):
            add_education(application, year=year)
    with pytest.raises(Refused, match="Choose the level"):
        evidence.add_education(
            application=application,
            actor=applicant,
            level="wizard",
            field_of_study="x",
            institution="y",
            year_completed=2000,
        )
    assert len(application.portfolio.education) == 2


def test_training_and_rsc_cannot_be_dated_in_the_future_or_before_1950(applicant):
    application = new(applicant)
    with pytest.raises(Refused, match="count here"):
        add_training(application, taken_on=utc_today() + timedelta(days=1))
    with pytest.raises(Refused, match="count here"):
        add_training(application, taken_on=date(1949, 12, 31))
    with pytest.raises(Refused, match="quarters"):
        add_training(application, hours="1.1")
    for impossible in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(Refused, match="Enter hours between"):
            add_training(application, hours=impossible)


def test_hostile_text_is_normalised(applicant):
    application = new(applicant)
    entry = evidence.add_work(
        application=application,
        actor=applicant,
        employer="  Family\x00 Start\r\nCenter\u2028 ",
        role="Home\tvisitor",
        starts_on=utc_today() - timedelta(days=10),
        ends_on=None,
        hours_per_week=10,
        serves_0_3=True,
        serves_3_6=False,
        description="\x1b[2J" + "x" * 10,
    )
    assert (entry.employer, entry.role, entry.description) == ("Family Start Center", "Home visitor", "[2J" + "x" * 10)
    with pytest.raises(Refused, match="at most 200"):
        evidence.add_work(
            application=application,
            actor=applicant,
            employer="x" * 201,
            role="r",
            starts_on=utc_today(),
            ends_on=None,
            hours_per_week=10,
            serves_0_3=True,
            serves_3_6=False,
            description=None,
        )


def test_another_applications_entry_cannot_be_removed(applicant):
    mine = new(applicant)
    add_training(mine)
    other_user = make_user(email="other@example.org")
    theirs = new(other_user)
    entry = add_training(theirs)
    with pytest.raises(Refused, match="not in this application's evidence"):
        evidence.remove(application=mine, actor=applicant, kind="training", entry_id=entry.id)
    assert db.session.get(TrainingEntry, entry.id) is not None


def test_removing_an_entry_stores_the_totals_again_and_is_audited(applicant):
    application = new(applicant)
    entry = add_training(application, "12")
    assert application.training_hours == 12
    evidence.remove(application=application, actor=applicant, kind="training", entry_id=entry.id)
    assert application.training_hours == 0
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_id == application.id)).all()
    assert AuditAction.APPLICATION_EVIDENCE_ADDED in actions and AuditAction.APPLICATION_EVIDENCE_REMOVED in actions


def test_a_submitted_application_takes_no_entries(applicant):
    application = new(applicant)
    application.status = ApplicationStatus.SUBMITTED
    with pytest.raises(Refused, match="can no longer be changed"):
        add_education(application)
    assert application.portfolio_id is None


# ---------------------------------------------------------------------------------------------
# The migration marks the applications recorded before


def test_the_migration_marks_applications_with_recorded_totals_self_reported(tmp_path, postgres_schema):
    user = sa.table(
        "user_account", *(sa.column(n) for n in ("id", "email", "name", "password_hash", "role", "created_at"))
    )
    columns = ("id", "applicant_id", "credential", "category", "status", "created_at", "updated_at", "changed_at")
    totals = ("education_level", "work_years", "training_hours", "rsc_hours", "eligibility_recorded_at")
    application = sa.table("application", *(sa.column(n) for n in columns + totals))
    now = datetime(2026, 11, 30, 12, 0)
    with migrating_app(tmp_path, postgres_schema):
        upgrade(revision="e7b1c4d2a9f0")
        with db.engine.begin() as conn:
            conn.execute(
                sa.insert(user).values(
                    id=1, email="e@example.org", name="E", password_hash="x", role="applicant", created_at=now
                )
            )
            base = {"applicant_id": 1, "credential": "imh-e", "category": 2, "created_at": now}
            base |= {"updated_at": now, "changed_at": now}
            recorded = {"education_level": "master", "work_years": 3.5, "training_hours": 40}
            recorded |= {"rsc_hours": 30, "eligibility_recorded_at": now}
            conn.execute(sa.insert(application).values(id=1, status="submitted", **base, **recorded))
            conn.execute(sa.insert(application).values(id=2, status="draft", **base))
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT id, eligibility_source, portfolio_id, education_level, training_hours, rsc_hours"
                    " FROM application ORDER BY id"
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            (1, "self_reported", None, "master", 40, 30),
            (2, "entries", None, None, None, None),
        ]


# ---------------------------------------------------------------------------------------------
# The pages


@pytest.fixture
def own(app, browser):
    with app.app_context():
        user = make_user(email="owner@example.org")
        application = make_application(user, category=2)
    browser.login("owner@example.org")
    return application


def post_entry(browser, application_id: int, kind: str, data: dict, *, follow=False):
    return post_application_entry(browser, f"/applications/{application_id}", kind, data, follow=follow)


def training(**changes) -> dict:
    return {
        "title": "Reflective practice",
        "provider": "Association",
        "taken_on": "2025-03-01",
        "hours": "30",
    } | changes


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(model.id)))


def test_the_evidence_page_lists_adds_and_recomputes_the_checklist(app, browser, own):
    body = browser.get(f"/applications/{own.id}/evidence").get_data(as_text=True)
    assert body.count("Not yet") == 3 and "Add education" in body and "Add supervision" in body
    year = utc_today().year - 1
    assert (
        post_entry(
            browser,
            own.id,
            "education",
            {"level": "bachelor", "field_of_study": "Psychology", "institution": "U", "year_completed": str(year)},
        ).status_code
        == 302
    )
    assert post_entry(browser, own.id, "training", training()).status_code == 302
    rsc = {
        "provider": "Morgan",
        "provider_credential": "IMH-E Mentor",
        "starts_on": "2025-01-01",
        "ends_on": "2025-06-30",
        "hours": "24",
        "format": "group",
    }
    assert post_entry(browser, own.id, "rsc", rsc).status_code == 302
    work = {
        "employer": "Family Start",
        "role": "Visitor",
        "starts_on": "2020-01-01",
        "ends_on": "",
        "hours_per_week": "40",
        "serves_0_3": "y",
    }
    assert post_entry(browser, own.id, "work", work).status_code == 302
    body = browser.get(f"/applications/{own.id}/evidence").get_data(as_text=True)
    assert "Not yet" not in body and body.count(">Met<") == 3 and "Psychology" in body and "ongoing" in body
    page = browser.get(f"/applications/{own.id}").get_data(as_text=True)
    assert f"/applications/{own.id}/evidence" in page and "Every requirement is met" in page
    with app.app_context():
        stored = db.session.get(Application, own.id)
        assert (stored.education_level, stored.training_hours, stored.rsc_hours) == (EducationLevel.BACHELOR, 30, 24)
        assert stored.employer == "Family Start"


@pytest.mark.parametrize(
    "kind, data, message",
    [
        ("training", training(hours="0"), "Enter hours between"),
        ("training", training(hours="1e309"), "Enter hours"),
        ("training", training(hours="NaN"), "Enter hours between"),
        (
            "rsc",
            {
                "provider": "M",
                "starts_on": "2025-01-01",
                "ends_on": "2025-01-02",
                "hours": "Infinity",
                "format": "group",
            },
            "Enter hours between",
        ),
        ("training", training(taken_on="2199-01-01"), "count here"),
        (
            "rsc",
            {"provider": "M", "starts_on": "2025-02-01", "ends_on": "2025-01-01", "hours": "2", "format": "individual"},
            "The end date is before the start date.",
        ),
        (
            "work",
            {"employer": "E", "role": "R", "starts_on": "2025-02-01", "ends_on": "2025-01-01", "hours_per_week": "40"},
            "The end date is before the start date.",
        ),
        (
            "work",
            {"employer": "E", "role": "R", "starts_on": "2025-01-01", "hours_per_week": "200"},
            "between 1 and 80",
        ),
        (
            "education",
            {"level": "wizard", "field_of_study": "F", "institution": "I", "year_completed": "2000"},
            "Not a valid choice",
        ),
        (
            "education",
            {"level": "master", "field_of_study": "F", "institution": "I", "year_completed": "1900"},
            "Enter a year between 1950",
        ),
    ],
)
def test_bad_entries_are_refused_with_a_message_and_nothing_stored(app, browser, own, kind, data, message):
    response = post_entry(browser, own.id, kind, data)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    for model in (EducationEntry, WorkEntry, TrainingEntry, RscEntry):
        assert count(app, model) == 0


def test_another_applicants_application_is_a_404_and_unchanged(app, browser, own):
    with app.app_context():
        make_user(email="intruder@example.org")
    intruder = Browser(app.test_client())
    intruder.login("intruder@example.org")
    assert intruder.get(f"/applications/{own.id}/evidence").status_code == 404
    token = token_from(intruder.get("/dashboard").get_data(as_text=True))
    data = {"training-csrf_token": token, **{f"training-{k}": v for k, v in training().items()}}
    assert intruder.client.post(f"/applications/{own.id}/evidence/training", data=data).status_code == 404
    assert count(app, TrainingEntry) == 0


def test_removing_another_applications_entry_is_refused_and_changes_nothing(app, browser, own):
    with app.app_context():
        other = make_application(make_user(email="else@example.org"))
        foreign = add_training(other)
        db.session.commit()
        foreign_id = foreign.id
    page = browser.get(f"/applications/{own.id}/evidence").get_data(as_text=True)
    response = browser.client.post(
        f"/applications/{own.id}/evidence/training/{foreign_id}/remove",
        data={"csrf_token": token_from(page)},
        follow_redirects=True,
    )
    assert response.status_code == 200 and "not in this application&#39;s evidence" in response.get_data(as_text=True)
    assert count(app, TrainingEntry) == 1
    assert (
        browser.client.post(
            f"/applications/{own.id}/evidence/nonsense/{foreign_id}/remove", data={"csrf_token": token_from(page)}
        ).status_code
        == 404
    )


def test_a_submitted_application_shows_its_evidence_read_only_and_refuses_changes(app, browser, own):
    with app.app_context():
        application = db.session.get(Application, own.id)
        entry = add_training(application)
        application.status = ApplicationStatus.SUBMITTED
        db.session.commit()
        entry_id = entry.id
    body = browser.get(f"/applications/{own.id}/evidence").get_data(as_text=True)
    assert "Reflective practice" in body and "Add training" not in body and "Remove" not in body
    response = post_entry(browser, own.id, "training", training())
    assert "can no longer be changed" in response.get_data(as_text=True)
    token = token_from(browser.get("/dashboard").get_data(as_text=True))
    browser.client.post(f"/applications/{own.id}/evidence/training/{entry_id}/remove", data={"csrf_token": token})
    assert count(app, TrainingEntry) == 1


def _rated(app, application_id: int) -> None:
    with app.app_context():
        application = db.session.get(Application, application_id)
        declare_current_membership(application)
        rate(ask_three_referees(application))
        db.session.commit()


def test_submit_is_refused_naming_each_unmet_rule_then_allowed(app, browser, own):
    _rated(app, own.id)
    with app.app_context():
        application = db.session.get(Application, own.id)
        record_evidence(application, education=EducationLevel.ASSOCIATE, training="29.75", rsc="60")
        db.session.commit()
    page = browser.get(f"/applications/{own.id}/submit").get_data(as_text=True)
    assert page.count("Not yet") == 2 and page.count(">Met<") == 1
    response = browser.submit(f"/applications/{own.id}/submit", {"attest": "y"})
    body = response.get_data(as_text=True)
    assert "Not ready to submit yet" in body
    assert "education (Associate" in body and "in-service training (29.75 hours in 1 entry; needs at least 30" in body
    with app.app_context():
        assert db.session.get(Application, own.id).status is ApplicationStatus.DRAFT
        application = db.session.get(Application, own.id)
        add_education(application, EducationLevel.BACHELOR)
        add_training(application, "0.25")
        db.session.commit()
        settle_fees(application)  # the fees are the last thing submission waits for
    response = browser.submit(f"/applications/{own.id}/submit", {"attest": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Application, own.id).status is ApplicationStatus.SUBMITTED


def test_the_reviewer_sees_the_entries_under_each_requirement(app, browser, own):
    with app.app_context():
        application = db.session.get(Application, own.id)
        record_evidence(application, education=EducationLevel.BACHELOR, training="30", rsc=None)
        add_rsc(application, "24", credential=None)
        application.status = ApplicationStatus.SUBMITTED
        db.session.commit()
        make_user(email="reviewer@example.org", role=Role.REVIEWER)
    reviewer = Browser(app.test_client())
    reviewer.login("reviewer@example.org")
    body = reviewer.get(f"/review/applications/{own.id}").get_data(as_text=True)
    assert 'id="evidence"' in body and "State University" in body and "Reflective practice" in body
    assert "none given (does not count where RSC is required)" in body
    assert "Remove" not in body and "Add training" not in body


def test_the_queue_reads_the_entries_of_its_page_in_the_same_statements_at_any_size(app):
    """The queue's eligibility column reads each application's entries: loaded for the whole page at once."""

    def add(count: int, start: int) -> None:
        with app.app_context():
            for n in range(start, start + count):
                application = make_application(make_user(email=f"q{n}@example.org"))
                record_evidence(application)
                add_work(application, starts_on=utc_today() - timedelta(days=400), ends_on=None)
                application.status = ApplicationStatus.SUBMITTED
                application.submitted_at = utcnow()
            db.session.commit()

    with app.app_context():
        make_user(email="rev@example.org", role=Role.REVIEWER)
    reviewer = Browser(app.test_client())
    reviewer.login("rev@example.org")
    add(2, 0)
    small = statements_for(app, reviewer, "/review/")
    add(8, 2)
    large = statements_for(app, reviewer, "/review/")
    body = reviewer.get("/review/").get_data(as_text=True)
    assert "q9@example.org" in body or "q9" in body
    assert small == large
