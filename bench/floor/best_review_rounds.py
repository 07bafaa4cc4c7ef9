"""/review/rounds from the page's data needs alone: the signed-in user, then one statement for every
round with its five counts, each round's few tally rows summed before they are joined to it (the stored
per-round tallies are the schema's; no application is read); an administrator's suggested round comes
from the first row's deadline (the rounds are newest first), not from a statement of its own. The counts
and the suggestion are refportal's pure rules (round_progress, suggested_round)."""

from __future__ import annotations

from dataclasses import astuple

import sqlalchemy as sa
from flask import Flask, abort, render_template

from floor.common import connect, csrf_token, signed_in_user
from floor.rows import refportal_config
from refportal.db import utc_today
from refportal.reviews.progress import round_progress
from refportal.reviews.rounds import suggested_round

STAFF = ("reviewer", "admin")
# refportal's settings as the benchmark runs it (their defaults, read by refportal.config).
SETTINGS = refportal_config("REVIEWERS_PER_FILE", "REVIEW_ROUND_REVIEW_DAYS")
REVIEWERS_PER_FILE = SETTINGS["REVIEWERS_PER_FILE"]
REVIEW_DAYS = SETTINGS["REVIEW_ROUND_REVIEW_DAYS"]

ROUNDS = sa.text(
    """
    SELECT r.id, r.name, r.opens_on, r.submission_deadline, r.review_due,
           coalesce(t.files, 0), coalesce(t.assigned, 0), coalesce(t.reviewed, 0),
           coalesce(t.decided, 0), coalesce(t.settled, 0)
    FROM review_round r
    LEFT JOIN (
        SELECT round_id,
               sum(files) AS files,
               sum(files) FILTER (WHERE assignments >= :per_file) AS assigned,
               sum(files) FILTER (WHERE reviews >= :per_file) AS reviewed,
               sum(files) FILTER (WHERE decided) AS decided,
               sum(files) FILTER (WHERE decided OR reviews >= :per_file) AS settled
        FROM review_round_tally
        GROUP BY round_id
    ) t ON t.round_id = r.id
    ORDER BY r.submission_deadline DESC
    """
)


def register(app: Flask) -> None:
    @app.get("/review/rounds")
    def review_rounds():
        today = utc_today()
        with connect() as conn:
            user = signed_in_user(conn)
            if user is None or user.role not in STAFF:
                abort(404)
            rows = conn.execute(ROUNDS, {"per_file": REVIEWERS_PER_FILE}).all()
        form = None
        if user.role == "admin":
            form = suggested_round(rows[0].submission_deadline if rows else None, today, review_days=REVIEW_DAYS)
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
