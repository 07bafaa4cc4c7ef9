"""/review/rounds: every round with its progress (one statement, refportal's own query of
refportal.reviews.rounds.rounds_with_progress with only the columns the page shows); an administrator
also gets the form for the next round, suggested from the latest deadline (rounds.next_quarter)."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import Flask, abort, render_template

from floor.common import connect, csrf_token, signed_in_user
from refportal.db import utc_today
from refportal.reviews.models import ReviewRound
from refportal.reviews.rounds import round_files

STAFF = ("reviewer", "admin")
REVIEWERS_PER_FILE = 2  # refportal's REVIEWERS_PER_FILE
REVIEW_DAYS = 42  # refportal's REVIEW_ROUND_REVIEW_DAYS


def _statement(today: date) -> sa.Select:
    files = round_files(REVIEWERS_PER_FILE)  # refportal's own SQL for each file's progress
    overdue = sa.case(
        (sa.and_(ReviewRound.review_due < today, files.c.decided == 0, files.c.reviewed == 0), 1), else_=0
    )
    return (
        sa.select(
            ReviewRound.id,
            ReviewRound.name,
            ReviewRound.opens_on,
            ReviewRound.submission_deadline,
            ReviewRound.review_due,
            sa.func.count(files.c.round_id).label("files"),
            sa.func.coalesce(sa.func.sum(files.c.assigned), 0).label("assigned"),
            sa.func.coalesce(sa.func.sum(files.c.reviewed), 0).label("reviewed"),
            sa.func.coalesce(sa.func.sum(files.c.decided), 0).label("decided"),
            sa.func.coalesce(sa.func.sum(overdue), 0).label("overdue"),
        )
        .outerjoin(files, files.c.round_id == ReviewRound.id)
        .group_by(ReviewRound.id)
        .order_by(ReviewRound.submission_deadline.desc())
    )


def _next_quarter(conn: sa.Connection, today: date) -> dict:
    """rounds.next_quarter: the rest of the quarter after the latest deadline (or the current quarter)."""
    latest = conn.execute(sa.select(sa.func.max(ReviewRound.submission_deadline))).scalar()
    day = latest + timedelta(days=1) if latest else today
    quarter = (day.month - 1) // 3 + 1
    opens_on = day if latest else date(day.year, 3 * quarter - 2, 1)
    deadline = (date(day.year + 1, 1, 1) if quarter == 4 else date(day.year, 3 * quarter + 1, 1)) - timedelta(days=1)
    return {
        "name": f"{day.year} Q{quarter}",
        "opens_on": opens_on.isoformat(),
        "submission_deadline": deadline.isoformat(),
        "review_due": (deadline + timedelta(days=REVIEW_DAYS)).isoformat(),
    }


def register(app: Flask) -> None:
    @app.get("/review/rounds")
    def review_rounds():
        today = utc_today()
        with connect() as conn:
            user = signed_in_user(conn)
            if user is None or user.role not in STAFF:
                abort(404)
            rows = conn.execute(_statement(today)).all()
            form = _next_quarter(conn, today) if user.role == "admin" else None
        rounds = [
            {
                "id": row.id,
                "name": row.name,
                "period": f"{row.opens_on:%d %b %Y} – {row.submission_deadline:%d %b %Y}",
                "due": row.review_due.strftime("%d %b %Y"),
                "counts": [int(n) for n in row[5:]],
            }
            for row in rows
        ]
        return render_template("review_rounds.html", user=user, rounds=rounds, form=form, csrf=csrf_token())
