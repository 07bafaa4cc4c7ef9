"""An endorsed file gets its endorsement record (a random number, the period up to the renewal date),
the applicant's dashboard shows it, and the endorsee chooses their registry listing."""

from __future__ import annotations

import sqlalchemy as sa

from refportal.applications.categories import Credential, MentorTrack
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.endorsements.models import Endorsement, EndorsementChange, RegistryListing
from refportal.endorsements.services import NUMBER_PATTERN, normalized_number
from refportal.extensions import db
from refportal.reviews.decisions import apply_decision
from refportal.reviews.models import Decision
from tests.endorsements.helpers import endorse
from tests.factories import make_application, make_user
from tests.web import Browser


def test_an_endorsed_application_is_issued_its_endorsement(app):
    number = endorse(app, name="Mia Mentor", credential=Credential.ECMH_E, category=4, mentor_track=MentorTrack.POLICY)
    assert NUMBER_PATTERN.fullmatch(number) and number.startswith("ECMH-")
    with app.app_context():
        endorsement = db.session.scalars(sa.select(Endorsement)).one()
        application = db.session.get(Application, endorsement.application_id)
        assert application is not None and application.decided_at is not None
        assert endorsement.holder_id == application.applicant_id
        assert (endorsement.credential, endorsement.category, endorsement.mentor_track) == (
            Credential.ECMH_E,
            4,
            MentorTrack.POLICY,
        )
        assert endorsement.category_name == "Early Childhood Mental Health Mentor – Policy"
        assert endorsement.status is EndorsementStatus.ACTIVE
        assert endorsement.issued_on == endorsement.period_starts_on == application.decided_at.date()
        assert endorsement.period_ends_on == application.renews_on(12)  # the decision e-mail's renewal date
        change = db.session.scalars(sa.select(EndorsementChange)).one()
        assert (change.status, change.event) == (EndorsementStatus.ACTIVE, "issue")
        actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_type == "endorsement"))
        assert list(actions) == [AuditAction.ENDORSEMENT_ISSUED]


def test_other_decisions_issue_nothing(app):
    with app.app_context():
        for outcome in (Decision.DEFER, Decision.DENY, Decision.MORE_INFORMATION):
            application = make_application(make_user(), status=ApplicationStatus.SUBMITTED)
            with app.test_request_context():
                apply_decision(application=application, outcome=outcome, message="Feedback.", actor=None)
                db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(Endorsement.id))) == 0


def test_numbers_are_random_not_sequential(app):
    numbers = [endorse(app, name=f"Person {n}") for n in range(6)]
    assert len(set(numbers)) == 6
    suffixes = sorted(number.split("-")[1] for number in numbers)
    assert suffixes != [f"{n:08d}" for n in range(1, 7)]  # not a counter
    assert all(normalized_number(" " + n.lower() + " ") == n for n in numbers)


def test_the_dashboard_shows_the_endorsement(app):
    number = endorse(app, name="Dana Endorsed", email="dana@example.org")
    browser = Browser(app.test_client())
    browser.login("dana@example.org")
    page = browser.get("/dashboard").get_data(as_text=True)
    assert "Your endorsements" in page and number in page and "Infant Family Specialist" in page
    assert f"/registry/{number}" in page and "Active" in page


def test_the_endorsee_chooses_their_listing(app):
    endorse(app, name="Lee Listed", email="lee@example.org")
    browser = Browser(app.test_client())
    browser.login("lee@example.org")
    page = browser.get("/endorsements/registry-listing").get_data(as_text=True)
    assert '<input checked id="listed" name="listed"' in page  # the default lists them
    response = browser.submit("/endorsements/registry-listing", {"city": "Lansing, Michigan", "show_city": "y"})
    assert response.status_code == 302
    with app.app_context():
        listing = db.session.scalars(sa.select(RegistryListing)).one()
        assert (listing.listed, listing.show_city, listing.city) == (False, True, "Lansing, Michigan")
        changed = db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == AuditAction.REGISTRY_LISTING_CHANGED)
        )
        assert changed == 1


def test_a_bad_city_is_refused_and_nothing_changes(app):
    endorse(app, name="Bo Bad", email="bo@example.org")
    browser = Browser(app.test_client())
    browser.login("bo@example.org")
    response = browser.submit("/endorsements/registry-listing", {"listed": "y", "city": "x\x00y" + "z" * 200})
    assert response.status_code == 200
    assert "Use a single line of text" in response.get_data(
        as_text=True
    ) or "Field cannot be longer" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RegistryListing)) == 0


def test_someone_without_an_endorsement_has_nothing_to_list(app):
    with app.app_context():
        make_user(email="none@example.org")
    browser = Browser(app.test_client())
    browser.login("none@example.org")
    page = browser.get("/endorsements/registry-listing").get_data(as_text=True)
    assert "You hold no endorsement yet" in page and 'name="listed"' not in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RegistryListing)) == 0
