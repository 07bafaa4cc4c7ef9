"""Endorsed applicants for the endorsement and registry tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from itsdangerous import TimestampSigner

import refportal.db
from refportal.applications.categories import Credential, MentorTrack
from refportal.applications.lifecycle import ApplicationStatus
from refportal.db import utc_today
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.endorsements.models import Endorsement, RegistryListing
from refportal.endorsements.renewal_notices import run_annual_cycle
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


def lapse(app, number: str, *, days_ago: int = 10) -> None:
    """Move the endorsement through its year as the worker's job does, so that it lapsed `days_ago`
    days ago (its history dated accordingly, the lapse notice sent)."""
    with app.app_context():
        endorsement = db.session.scalars(sa.select(Endorsement).where(Endorsement.number == number)).one()
        grace = timedelta(days=app.config["ENDORSEMENT_GRACE_DAYS"])
        endorsement.period_ends_on = utc_today() - grace - timedelta(days=1 + days_ago)
        db.session.commit()
        assert run_annual_cycle(utc_today()).failed == 0
        db.session.refresh(endorsement)
        assert endorsement.status is EndorsementStatus.LAPSED


class FrozenClock:
    """The portal's clock (refportal.db.utcnow, and utc_today with it) stopped at a moment the test
    moves: every service dates what it does by it, and signed tokens (the referees' links, the session
    cookie) are dated and aged by it too, so a link issued on a day of the test works on that day. The
    session lifetimes (refportal.security.sessions) read the real time."""

    def __init__(self, monkeypatch, start: datetime) -> None:
        self.now = start
        clock = self

        class Frozen(datetime):
            @classmethod
            def now(cls, tz=None):  # type: ignore[override]
                return clock.now if tz is None else clock.now.astimezone(tz)

        monkeypatch.setattr(refportal.db, "datetime", Frozen)
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda signer: int(clock.now.timestamp()))

    def move_to(self, day: date) -> None:
        """The given day, at the time of day the clock shows."""
        self.now = datetime.combine(day, self.now.timetz())

    def today(self) -> date:
        return self.now.date()
