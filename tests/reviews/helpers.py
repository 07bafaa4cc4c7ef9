"""Shared steps for the review tests: rounds opened, applications in bulk, statements a page runs."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.applications.categories import Credential
from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.extensions import db
from refportal.reviews.models import ReviewRound


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
