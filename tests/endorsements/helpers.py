"""Endorsed applicants for the endorsement and registry tests."""

from __future__ import annotations

import sqlalchemy as sa

from refportal.applications.categories import Credential, MentorTrack
from refportal.applications.lifecycle import ApplicationStatus
from refportal.endorsements.models import Endorsement, RegistryListing
from refportal.extensions import db
from refportal.reviews.decisions import apply_decision
from refportal.reviews.models import Decision
from tests.factories import make_application, make_user


def endorse(
    app,
    *,
    name: str,
    email: str | None = None,
    credential: Credential = Credential.IMH_E,
    category: int = 2,
    mentor_track: MentorTrack | None = None,
) -> str:
    """A new applicant whose submitted application the administrator endorses; returns the endorsement number."""
    with app.app_context():
        applicant = make_user(name=name, email=email)
        application = make_application(
            applicant,
            credential=credential,
            category=category,
            mentor_track=mentor_track,
            status=ApplicationStatus.SUBMITTED,
        )
        with app.test_request_context():
            apply_decision(application=application, outcome=Decision.ENDORSE, message="", actor=None)
            db.session.commit()
            return db.session.scalar(sa.select(Endorsement.number).where(Endorsement.application_id == application.id))


def set_listing(app, number: str, *, listed: bool, show_city: bool = False, city: str | None = None) -> None:
    with app.app_context():
        holder_id = db.session.scalar(sa.select(Endorsement.holder_id).where(Endorsement.number == number))
        db.session.merge(RegistryListing(holder_id=holder_id, listed=listed, show_city=show_city, city=city))
        db.session.commit()
