"""Shared steps for the review tests: rounds opened, applications in bulk, statements a page runs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from refportal.accounts.models import Role, User
from refportal.applications.categories import Credential
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.db import utc_today, utcnow
from refportal.extensions import db
from refportal.references.nomination import nominate_referee, send_requests
from refportal.references.roles import RefereeRole
from refportal.reviews.models import ReviewRound
from refportal.reviews.rounds import join_round
from tests.builders import settle_fees
from tests.factories import make_application, make_user, record_eligibility


def add_applications(app, count: int, start: int = 0) -> None:
    with app.app_context():
        password_hash = db.session.scalar(sa.select(User.password_hash).limit(1))
        for n in range(start, start + count):
            user = User(email=f"bulk{n}@example.org", name=f"Bulk {n}", password_hash=password_hash)
            db.session.add(Application(applicant=user, credential=Credential.IMH_E, category=1 + n % 4))
        db.session.commit()


def statements_for(app, browser, url: str) -> int:
    counter = {"n": 0}

    def count(*_):
        counter["n"] += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert browser.get(url).status_code in (200, 302)  # a saved draft redirects
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return counter["n"]


def submitted_files(app, count: int, *, start: int = 0) -> list[int]:
    """`count` submitted applications (no references: enough to assign), each by its own applicant."""
    with app.app_context():
        password_hash = db.session.scalar(sa.select(User.password_hash).limit(1))
        ids = []
        for n in range(start, start + count):
            user = User(email=f"file{n}@example.org", name=f"File {n:03d}", password_hash=password_hash)
            application = Application(
                applicant=user,
                credential=Credential.IMH_E,
                category=2,
                status=ApplicationStatus.SUBMITTED,
                submitted_at=utcnow() - timedelta(days=1),
            )
            db.session.add(application)
            join_round(application)
            db.session.flush()
            ids.append(application.id)
        db.session.commit()
        return ids


def reviewers(app, count: int, *, start: int = 0) -> None:
    with app.app_context():
        for n in range(start, start + count):
            make_user(email=f"r{n}@example.org", name=f"Reviewer {n}", role=Role.REVIEWER)


def user_id(app, email):
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.email == email))


def open_round(admin, name="2026 Q4", opens_on=None, deadline=None, due=None):
    today = utc_today()
    return admin.submit(
        "/review/rounds",
        {
            "name": name,
            "opens_on": (opens_on or today - timedelta(days=30)).isoformat(),
            "submission_deadline": (deadline or today + timedelta(days=30)).isoformat(),
            "review_due": (due or today + timedelta(days=60)).isoformat(),
        },
        form_url="/review/rounds",
    )


def round_id(app, name="2026 Q4") -> int:
    with app.app_context():
        return db.session.scalar(sa.select(ReviewRound.id).where(ReviewRound.name == name))


def asked_referees() -> dict:
    """An application whose three referees were asked (the first not waived), two reviewers (who read
    unassigned files: REVIEWERS_READ_UNASSIGNED), an administrator, another applicant."""
    applicant = make_user(email="applicant@example.org", name="Ana Applicant")
    make_user(email="other@example.org", name="Otto Other")
    make_user(email="admin@example.org", name="Alex Admin", role=Role.ADMIN)
    make_user(email="rev@example.org", name="Rita Reviewer", role=Role.REVIEWER)
    make_user(email="rev2@example.org", name="Rafe Reviewer", role=Role.REVIEWER)
    application = make_application(applicant, category=2)
    record_eligibility(application)
    references = [
        nominate_referee(
            application=application,
            actor=applicant,
            name=name,
            email=email,
            organisation="Org",
            role=role,
            setting="Program",
            known_years=Decimal(3),
            waived=waived,
            endorsed_credential=None,
            endorsed_category=None,
        )
        for name, email, role, waived in (
            ("Sam Supervisor", "sam@example.net", RefereeRole.SUPERVISOR, False),
            ("Rae Provider", "rae@example.net", RefereeRole.RSC_PROVIDER, True),
            ("Cole League", "cole@example.net", RefereeRole.COLLEAGUE, True),
        )
    ]
    settle_fees(application, only_what_the_requests_need=True)
    send_requests(application=application, actor=applicant)
    db.session.commit()
    return {"application": application.id, "references": [r.id for r in references]}
