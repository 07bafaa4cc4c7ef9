"""/dashboard: the applicant's applications, each with its checklist (one statement for the page's data,
the rules' own SQL: refportal.applications.eligibility and completeness)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, abort, render_template

from floor.common import connect, csrf_token, signed_in_user
from refportal.applications.categories import category_name
from refportal.applications.eligibility import eligible_clause
from refportal.applications.lifecycle import ACTIVE
from refportal.applications.models import Application
from refportal.config import DEFAULT_ELIGIBILITY_REQUIREMENTS
from refportal.membership.models import Association, MembershipDeclaration
from refportal.references.lifecycle import ENDED
from refportal.references.models import Reference, ReferenceStatus
from refportal.submission.completeness import counted_ratings

ACTIVE = {s.value for s in ACTIVE}


def _statement(user_id) -> sa.Select:
    active_refs = (
        sa.select(sa.func.count(Reference.id))
        .where(Reference.application_id == Application.id, Reference.status.not_in(ENDED))
        .correlate(Application)
        .scalar_subquery()
    )
    nominated = (
        sa.select(sa.func.count(Reference.id))
        .where(Reference.application_id == Application.id, Reference.status == ReferenceStatus.NOMINATED)
        .correlate(Application)
        .scalar_subquery()
    )
    return (
        sa.select(
            Application.id,
            Application.credential,
            Application.category,
            Application.mentor_track,
            Application.status,
            Application.created_at,
            Application.eligibility_recorded_at,
            eligible_clause(DEFAULT_ELIGIBILITY_REQUIREMENTS).label("eligible"),
            MembershipDeclaration.kind,
            MembershipDeclaration.association,
            MembershipDeclaration.association_name,
            MembershipDeclaration.status.label("membership_status"),
            MembershipDeclaration.expires_on,
            counted_ratings().label("counted"),
            active_refs.label("active"),
            nominated.label("nominated"),
        )
        .outerjoin(MembershipDeclaration, MembershipDeclaration.application_id == Application.id)
        .where(Application.applicant_id == user_id)
        .order_by(Application.created_at.desc())
    )


# Built once: each request only binds the user (SQLAlchemy's compiled cache then skips the rest).
STATEMENT = _statement(sa.bindparam("user_id"))


def _checklist(row, today) -> list[tuple[str, str, str]]:
    """(progress, label, detail) of the three requirements, for the data this benchmark builds."""
    items = []
    if row.eligibility_recorded_at is None:
        items.append(("todo", "Eligibility", "Not recorded yet"))
    else:
        items.append(("done" if row.eligible else "todo", "Eligibility", "Every requirement is met"))
    if row.association is None:
        items.append(("todo", "Membership", "Not declared yet"))
    else:
        name = row.association_name if row.association is Association.OTHER else row.association.label
        status = row.membership_status.value
        if status in ("declared", "verified") and row.expires_on and row.expires_on < today:
            status = "expired"
        if status == "verified":
            detail = f"{name}: verified" + (f", valid until {row.expires_on:%d %B %Y}" if row.expires_on else "")
            items.append(("done", "Membership", detail))
        elif status == "declared":
            detail = f"{name}: declared, waiting for verification (the association's roster or a reviewer)"
            items.append(("waiting", "Membership", detail))
        else:
            items.append(("todo", "Membership", f"{name}: {status}"))
    if not row.active:
        items.append(("todo", "References", "Not yet nominated (0 of 3)"))
    elif row.counted >= 3:
        items.append(("done", "References", "Three ratings are in"))
    else:
        detail = f"{row.counted} of 3 ratings in"
        if row.active < 3:
            detail += f"; {row.active} of 3 referees nominated"
        elif row.nominated:
            detail += "; requests not sent yet"
        items.append(("todo", "References", detail))
    return items


def register(app: Flask) -> None:
    @app.get("/dashboard")
    def dashboard():
        today = datetime.now(UTC).date()
        with connect() as conn:
            user = signed_in_user(conn)
            if user is None or user.role != "applicant":
                abort(404)
            rows = conn.execute(STATEMENT, {"user_id": user.id}).all()
        cards = []
        for row in rows:
            items = _checklist(row, today) if row.status.value in ACTIVE else []
            cards.append(
                {
                    "id": row.id,
                    "title": f"{row.credential.short} · "
                    + category_name(row.credential, row.category, row.mentor_track),
                    "status": row.status.label,
                    "opened": row.created_at.strftime("%d %B %Y"),
                    "active": row.status.value in ACTIVE,
                    "items": items,
                    "complete": bool(items) and all(p == "done" for p, _, _ in items),
                    "ready": bool(items) and all(p != "todo" for p, _, _ in items),
                }
            )
        return render_template("applicant_dashboard.html", user=user, cards=cards, csrf=csrf_token())
