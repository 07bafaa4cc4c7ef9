"""/review/rounds: every round with its progress (one statement, refportal's own query of
refportal.reviews.rounds.rounds_with_progress over the rounds and their stored tallies, with only the
columns the page shows); an administrator also gets the form for the next round, suggested from the
latest deadline (rounds.next_quarter's statement, then refportal's rule)."""

from __future__ import annotations

from dataclasses import astuple

import sqlalchemy as sa
from flask import Flask, abort, render_template

from floor.common import connect, csrf_token, signed_in_user
from floor.rows import refportal_config
from refportal.db import utc_today
from refportal.reviews.models import ReviewRound
from refportal.reviews.progress import round_progress, rounds_with_tallies
from refportal.reviews.rounds import suggested_round

STAFF = ("reviewer", "admin")
# refportal's settings as the benchmark runs it (their defaults, read by refportal.config).
SETTINGS = refportal_config("REVIEWERS_PER_FILE", "REVIEW_ROUND_REVIEW_DAYS")
REVIEWERS_PER_FILE = SETTINGS["REVIEWERS_PER_FILE"]
REVIEW_DAYS = SETTINGS["REVIEW_ROUND_REVIEW_DAYS"]

# refportal's statement for the rounds and their progress (the tallies' sums), with the page's columns.
STATEMENT = rounds_with_tallies(
    ReviewRound.id,
    ReviewRound.name,
    ReviewRound.opens_on,
    ReviewRound.submission_deadline,
    ReviewRound.review_due,
    per_file=REVIEWERS_PER_FILE,
).order_by(ReviewRound.submission_deadline.desc())


def register(app: Flask) -> None:
    @app.get("/review/rounds")
    def review_rounds():
        today = utc_today()
        with connect() as conn:
            user = signed_in_user(conn)
            if user is None or user.role not in STAFF:
                abort(404)
            rows = conn.execute(STATEMENT).all()
            form = None
            if user.role == "admin":
                latest = conn.execute(sa.select(sa.func.max(ReviewRound.submission_deadline))).scalar()
                form = suggested_round(latest, today, review_days=REVIEW_DAYS)
        rounds = [
            {
                "id": row.id,
                "name": row.name,
                "period": f"{row.opens_on:%d %b %Y} – {row.submission_deadline:%d %b %Y}",
                "due": row.review_due.strftime("%d %b %Y"),
                "counts": astuple(round_progress(*map(int, row[5:]), review_due=row.review_due, today=today)),
            }
            for row in rows
        ]
        return render_template("review_rounds.html", user=user, rounds=rounds, form=form, csrf=csrf_token())
