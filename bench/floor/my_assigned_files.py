"""/review/mine: the files assigned to the signed-in reviewer (one statement, refportal's own query of
refportal.reviews.assignments.my_files with only the columns the page shows)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, abort, render_template

from floor.common import connect, csrf_token, signed_in_user
from refportal.accounts.models import User
from refportal.applications.categories import category_name
from refportal.applications.lifecycle import UNDECIDED, ApplicationStatus
from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.reviews.models import Review, ReviewAssignment, ReviewRound

STAFF = ("reviewer", "admin")


def _statement(reviewer_id: int) -> sa.Select:
    reviewed = (
        sa.exists()
        .where(
            Review.application_id == Application.id,
            Review.reviewer_id == reviewer_id,
            Review.cycle == Application.review_cycle,
        )
        .correlate(Application)
    )
    undecided = Application.status.in_(UNDECIDED)
    return (
        sa.select(
            Application.id,
            Application.credential,
            Application.category,
            Application.mentor_track,
            Application.status,
            User.name,
            ReviewRound.id.label("round_id"),
            ReviewRound.name.label("round_name"),
            ReviewRound.review_due,
            reviewed.label("reviewed"),
        )
        .join(ReviewAssignment, ReviewAssignment.application_id == Application.id)
        .join(User, Application.applicant_id == User.id)
        .outerjoin(ReviewRound, Application.review_round_id == ReviewRound.id)
        .where(ReviewAssignment.reviewer_id == reviewer_id)
        .order_by(sa.case((undecided, 0), else_=1), ReviewRound.review_due.nulls_last(), Application.id)
        .limit(500)
    )


def register(app: Flask) -> None:
    @app.get("/review/mine")
    def my_assigned_files():
        today = utc_today()
        with connect() as conn:
            user = signed_in_user(conn)
            if user is None or user.role not in STAFF:
                abort(404)
            rows = conn.execute(_statement(user.id)).all()
        files = [
            {
                "id": row.id,
                "applicant": row.name,
                "title": f"{row.credential.short} · {category_name(row.credential, row.category, row.mentor_track)}",
                "status": row.status.label,
                "round_id": row.round_id,
                "round_name": row.round_name,
                "due": row.review_due.strftime("%d %B %Y") if row.round_id is not None else None,
                # The template's rule: not reviewed, the round's ReviewRound.is_overdue, still submitted.
                "overdue": row.round_id is not None
                and not row.reviewed
                and ReviewRound.is_overdue(row, today)
                and row.status is ApplicationStatus.SUBMITTED,
                "reviewed": bool(row.reviewed),
            }
            for row in rows
        ]
        return render_template("my_assigned_files.html", user=user, files=files, csrf=csrf_token())
