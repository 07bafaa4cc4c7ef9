"""A referee's own endorsement, as given on the rating form, is checked against the registry (number,
credential and category, status on the rating date) and the file shows the result."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from refportal.accounts.models import Role
from refportal.applications.categories import Credential
from refportal.db import utcnow
from refportal.endorsements.checks import Claim, check_claims
from refportal.endorsements.lifecycle import Event, transition
from refportal.endorsements.models import Endorsement
from refportal.extensions import db
from refportal.references.models import Rating, Reference
from tests.builders import make_submitted_application
from tests.endorsements.helpers import endorse
from tests.factories import make_user
from tests.web import Browser


def _endorsement(number: str) -> Endorsement:
    return db.session.scalars(sa.select(Endorsement).where(Endorsement.number == number)).one()


def test_the_file_shows_each_referees_endorsement_checked_against_the_registry(app):
    current = endorse(app, name="Rita Referee")
    lapsed = endorse(app, name="Lou Lapsed", category=3)
    rating_day = utcnow() + timedelta(days=30)
    with app.app_context():
        for days, event in ((1, Event.OPEN_RENEWAL), (2, Event.END_PERIOD), (3, Event.END_GRACE)):
            transition(_endorsement(lapsed), event, at=utcnow() + timedelta(days=days))
        make_user(email="admin@example.org", role=Role.ADMIN)
        application = make_submitted_application(make_user(name="Applicant"))
        ratings = list(
            db.session.scalars(
                sa.select(Rating).join(Reference).where(Reference.application_id == application.id).order_by(Rating.id)
            )
        )
        claims = [
            (current.lower(), Credential.IMH_E, 2),  # as issued (typed in lower case)
            (lapsed, Credential.IMH_E, 3),  # lapsed before the rating date
            (current, Credential.IMH_E, 3),  # a category the registry does not hold
        ]
        for rating, (number, credential, category) in zip(ratings, claims, strict=True):
            rating.endorsement_number, rating.endorsed_credential, rating.endorsed_category = (
                number,
                credential,
                category,
            )
            rating.submitted_at = rating_day
        db.session.commit()
        application_id = application.id
    admin = Browser(app.test_client())
    admin.login("admin@example.org")
    page = admin.get(f"/review/applications/{application_id}").get_data(as_text=True)
    assert page.count("Registry: confirmed") == 1 and page.count("Registry: not confirmed") == 2
    assert f"Confirmed by the registry: {current}, IMH-E Infant Family Specialist, active on the rating date." in page
    assert f"{lapsed} (IMH-E Infant Mental Health Specialist) was lapsed on the rating date." in page
    assert (
        f"{current} is IMH-E Infant Family Specialist in the registry, not IMH-E Infant Mental Health Specialist"
        in page
    )


def test_unknown_numbers_and_days_before_the_issue(app):
    number = endorse(app, name="Nia New")
    with app.app_context():
        issued = _endorsement(number).issued_on
        checks = check_claims(
            [
                Claim(key=1, number="IMH-00000000", credential=Credential.IMH_E, category=2, on=issued),
                Claim(key=2, number="not a number at all", credential=None, category=None, on=issued),
                Claim(key=3, number=number, credential=Credential.IMH_E, category=2, on=issued - timedelta(days=1)),
                Claim(key=4, number=number, credential=Credential.IMH_E, category=2, on=date(2199, 1, 1)),
            ]
        )
    assert checks[1].message == "Not in the registry: no endorsement has the number IMH-00000000."
    assert not checks[2].confirmed and "no endorsement has the number" in checks[2].message
    assert not checks[3].confirmed and "was not yet issued on the rating date" in checks[3].message
    assert checks[4].confirmed


def test_a_file_without_numbers_checks_nothing(app):
    with app.app_context():
        make_user(email="admin@example.org", role=Role.ADMIN)
        application_id = make_submitted_application(make_user(name="Applicant")).id
    admin = Browser(app.test_client())
    admin.login("admin@example.org")
    page = admin.get(f"/review/applications/{application_id}").get_data(as_text=True)
    assert "Registry:" not in page
