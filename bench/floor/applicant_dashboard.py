"""/dashboard: the applicant's applications, each with its checklist (one statement for the page's data:
each application with its membership declaration and its references' state; four for the evidence
entries of those whose eligibility comes from entries; and refportal's own for the endorsements held;
the checklist is refportal's own rule, refportal.submission.completeness.completeness_of, run on plain
rows that lend it the models' properties, floor.rows)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import sqlalchemy as sa
from flask import Flask, abort, render_template

from floor import rows
from floor.common import connect, csrf_token, signed_in_user
from refportal.applications.categories import category_name
from refportal.applications.models import Application
from refportal.config import DEFAULT_ELIGIBILITY_REQUIREMENTS
from refportal.endorsements.services import holder_endorsements_statement
from refportal.membership.models import MembershipDeclaration
from refportal.references.models import Rating, Reference
from refportal.submission.completeness import completeness_of

APPLICATION_COLUMNS = (
    "id",
    "credential",
    "category",
    "mentor_track",
    "status",
    "created_at",
    "submitted_at",
    "eligibility_source",
    "eligibility_recorded_at",
    "education_level",
    "work_years",
    "training_hours",
    "rsc_hours",
    "portfolio_id",
    "review_cycle",
)
MEMBERSHIP_COLUMNS = ("id", "kind", "association", "association_name", "status", "expires_on", "verification_note")


def _statement(user_id) -> sa.Select:
    return (
        sa.select(
            *(getattr(Application, c).label(c) for c in APPLICATION_COLUMNS),
            *(getattr(MembershipDeclaration, c).label(f"m_{c}") for c in MEMBERSHIP_COLUMNS),
            Reference.id.label("ref_id"),
            Reference.status.label("ref_status"),
            Rating.counts.label("rating_counts"),
        )
        .outerjoin(MembershipDeclaration, MembershipDeclaration.application_id == Application.id)
        .outerjoin(Reference, Reference.application_id == Application.id)
        .outerjoin(Rating, Rating.reference_id == Reference.id)
        .where(Application.applicant_id == user_id)
        .order_by(Application.created_at.desc(), Application.id, Reference.id)
    )


# Built once: each request only binds the user (SQLAlchemy's compiled cache then skips the rest).
STATEMENT = _statement(sa.bindparam("user_id"))
ENDORSEMENTS = holder_endorsements_statement()


def _applications(found) -> list[rows.Application]:
    """The rows (one per reference) as applications with their membership and references, in order."""
    applications: dict[int, rows.Application] = {}
    for row in found:
        application = applications.get(row.id)
        if application is None:
            membership = None
            if row.m_id is not None:
                membership = rows.Membership(**{c: getattr(row, f"m_{c}") for c in MEMBERSHIP_COLUMNS})
            application = applications[row.id] = rows.Application(
                **{c: getattr(row, c) for c in APPLICATION_COLUMNS}, membership=membership, references=[]
            )
        if row.ref_id is not None:
            rating = None if row.rating_counts is None else SimpleNamespace(counts=row.rating_counts)
            application.references.append(rows.Reference(id=row.ref_id, status=row.ref_status, rating=rating))
    return list(applications.values())


def register(app: Flask) -> None:
    @app.get("/dashboard")
    def dashboard():
        today = datetime.now(UTC).date()
        with connect() as conn:
            user = signed_in_user(conn)
            if user is None or user.role != "applicant":
                abort(404)
            applications = _applications(conn.execute(STATEMENT, {"user_id": user.id}).all())
            rows.lend_portfolios(conn, applications)
            # The endorsements the applicant holds, by refportal's statement (shown above the applications:
            # this floor draws none, and the benchmark's applicants hold none).
            if conn.execute(ENDORSEMENTS, {"holder_id": user.id}).first() is not None:
                raise NotImplementedError("the floor draws no endorsements")
        cards = []
        for row in applications:
            checklist = completeness_of(row, today, DEFAULT_ELIGIBILITY_REQUIREMENTS) if row.is_active else None
            items = [(i.progress.value, i.label, i.detail) for i in checklist.items] if checklist else []
            cards.append(
                {
                    "id": row.id,
                    "title": f"{row.credential.short} · "
                    + category_name(row.credential, row.category, row.mentor_track),
                    "status": row.status.label,
                    "opened": row.created_at.strftime("%d %B %Y"),
                    "active": row.is_active,
                    "items": items,
                    "complete": bool(checklist and checklist.complete),
                    "ready": bool(checklist and checklist.ready_to_submit),
                }
            )
        return render_template("applicant_dashboard.html", user=user, cards=cards, csrf=csrf_token())
