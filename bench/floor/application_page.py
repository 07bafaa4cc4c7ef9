"""/applications/<id>: the applicant's view of one application (one statement for the page's data: the
application with its membership, round, references and their ratings' "counts"; the checklist, fees and
eligibility from refportal's own rules: refportal.applications.eligibility, completeness and fees)."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from flask import Flask, abort, render_template

from floor.common import connect, csrf_token, signed_in_user
from refportal.applications.categories import category_name
from refportal.applications.eligibility import evaluate_eligibility, is_eligible
from refportal.applications.fees import fee_breakdown
from refportal.applications.lifecycle import ACTIVE, EDITABLE, ApplicationStatus
from refportal.applications.models import Application, RecordedEligibility
from refportal.config import DEFAULT_ELIGIBILITY_REQUIREMENTS, DEFAULT_FEE_SCHEDULE
from refportal.db import utc_today
from refportal.membership.models import Association, MembershipDeclaration, MembershipKind, MembershipStatus
from refportal.references.lifecycle import ENDED
from refportal.references.models import Rating, Reference, ReferenceStatus
from refportal.references.nomination import REFERENCES_PER_APPLICATION
from refportal.reviews.models import ReviewRound
from refportal.submission.completeness import Progress, membership_progress, references_progress

RENEWAL_MONTHS = 12  # refportal's ENDORSEMENT_RENEWAL_MONTHS
MAX_ID = 2**31 - 1  # refportal's <int:…> converter: a larger id matches no route
BADGE_KINDS = {
    "submitted": "ok",
    "declined": "problem",
    "bounced": "problem",
    "expired": "problem",
    "withdrawn": "neutral",
    "cancelled": "neutral",
    "nominated": "todo",
}
CURRENT = (MembershipStatus.DECLARED, MembershipStatus.VERIFIED)


def _statement(application_id: int, user_id: int) -> sa.Select:
    """One row per reference (one row without any), the application's columns repeated on each."""
    m, rr = MembershipDeclaration, ReviewRound
    return (
        sa.select(
            Application.credential,
            Application.category,
            Application.mentor_track,
            Application.status,
            Application.created_at,
            Application.decided_at,
            Application.decision_message,
            Application.education_level,
            Application.work_years,
            Application.training_hours,
            Application.rsc_hours,
            Application.eligibility_recorded_at,
            m.id.label("membership_id"),
            m.kind,
            m.association,
            m.association_name,
            m.member_number,
            m.expires_on,
            m.status.label("membership_status"),
            m.verification_note,
            rr.name.label("round_name"),
            rr.review_due,
            Reference.id.label("reference_id"),
            Reference.name,
            Reference.role,
            Reference.status.label("reference_status"),
            Rating.counts,
        )
        .outerjoin(m, m.application_id == Application.id)
        .outerjoin(rr, rr.id == Application.review_round_id)
        .outerjoin(Reference, Reference.application_id == Application.id)
        .outerjoin(Rating, Rating.reference_id == Reference.id)
        .where(Application.id == application_id, Application.applicant_id == user_id)
        .order_by(Reference.id)
    )


def _renews_on(status: ApplicationStatus, decided_at) -> date | None:
    """Application.renews_on: `RENEWAL_MONTHS` after an endorsement (the month's last day if shorter)."""
    if status is not ApplicationStatus.ENDORSED or decided_at is None:
        return None
    decided = decided_at.date()
    year, month = divmod(decided.month - 1 + RENEWAL_MONTHS, 12)
    year, month = decided.year + year, month + 1
    last_day = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(decided.day, last_day))


def _membership(row, today: date) -> tuple[SimpleNamespace | None, tuple[Progress, str]]:
    """The declaration as the page shows it, and its checklist item (completeness._membership_item)."""
    if row.membership_id is None:
        return None, (membership_progress(None), "Not declared yet")
    status = row.membership_status
    if status in CURRENT and row.expires_on is not None and row.expires_on < today:
        status = MembershipStatus.EXPIRED
    joining = row.kind is MembershipKind.WILL_JOIN
    name = (
        row.association_name if row.association is Association.OTHER and row.association_name else row.association.label
    )
    if status is MembershipStatus.DECLARED and joining:
        detail = (
            f"{name}: joining with this application (the membership fee is added); waiting for the "
            "association's roster or a reviewer to confirm the new membership"
        )
    elif status is MembershipStatus.DECLARED:
        detail = f"{name}: declared, waiting for verification (the association's roster or a reviewer)"
    elif status is MembershipStatus.VERIFIED:
        detail = f"{name}: {'joined, ' if joining else ''}verified"
        if row.expires_on:
            detail += f", valid until {row.expires_on:%d %B %Y}"
    elif status is MembershipStatus.EXPIRED:
        detail = f"{name}: expired"
        if row.expires_on:
            detail += f" on {row.expires_on:%d %B %Y}"
    else:
        detail = f"{name}: {status.label.lower()}"
        if row.verification_note:
            detail += f" ({row.verification_note})"
    shown = SimpleNamespace(
        name=name,
        joining=joining,
        member_number=row.member_number,
        expires=row.expires_on.strftime("%d %B %Y") if row.expires_on else None,
        status=status.label,
        current=row.kind is MembershipKind.CURRENT_MEMBER and status in CURRENT,
    )
    return shown, (membership_progress(status), detail)


def _references_item(references: list[SimpleNamespace]) -> tuple[Progress, str]:
    """completeness._references_item, over the references that have not ended."""
    counted = sum(1 for r in references if r.counts)
    progress = references_progress(counted)
    if not references:
        return progress, f"Not yet nominated (0 of {REFERENCES_PER_APPLICATION})"
    if progress is Progress.DONE:
        return progress, "Three ratings are in"
    waiting = sum(1 for r in references if r.nominated)
    detail = f"{counted} of {REFERENCES_PER_APPLICATION} ratings in"
    if len(references) < REFERENCES_PER_APPLICATION:
        detail += f"; {len(references)} of {REFERENCES_PER_APPLICATION} referees nominated"
    elif waiting:
        detail += "; requests not sent yet"
    return progress, detail


def _page(rows: list, today: date) -> dict:
    a = rows[0]
    recorded = None
    if a.eligibility_recorded_at is not None and None not in (
        a.education_level,
        a.work_years,
        a.training_hours,
        a.rsc_hours,
    ):
        recorded = RecordedEligibility(a.education_level, a.work_years, a.training_hours, a.rsc_hours)
    checks = evaluate_eligibility(
        SimpleNamespace(category=a.category, mentor_track=a.mentor_track, recorded_eligibility=recorded),
        DEFAULT_ELIGIBILITY_REQUIREMENTS,
    )
    if a.eligibility_recorded_at is None:
        eligibility_item = (Progress.TODO, "Not recorded yet")
    elif is_eligible(checks):
        eligibility_item = (Progress.DONE, "Every requirement is met")
    else:
        eligibility_item = (Progress.TODO, "Not met: " + ", ".join(c.label.lower() for c in checks if not c.met))
    membership, membership_item = _membership(a, today)
    references = []
    for row in rows:
        if row.reference_id is None or row.reference_status in ENDED:
            continue
        submitted = row.reference_status is ReferenceStatus.SUBMITTED
        references.append(
            SimpleNamespace(
                id=row.reference_id,
                name=row.name,
                role=row.role.label,
                status=row.reference_status.label,
                kind=BADGE_KINDS.get(row.reference_status.value, "todo"),
                counts=submitted and bool(row.counts),
                not_counted=submitted and not row.counts,
                nominated=row.reference_status is ReferenceStatus.NOMINATED,
            )
        )
    items = [
        ("Eligibility", *eligibility_item),
        ("Membership", *membership_item),
        ("References", *_references_item(references)),
    ]
    review_due = a.review_due.strftime("%d %B %Y") if a.round_name is not None else None
    renews_on = _renews_on(a.status, a.decided_at)
    return {
        "short": a.credential.short,
        "title": f"{a.credential.short} · {category_name(a.credential, a.category, a.mentor_track)}",
        "status": a.status.value,
        "status_label": a.status.label,
        "opened": a.created_at.strftime("%d %B %Y"),
        "credential_label": a.credential.label,
        "round_name": a.round_name,
        "review_due": review_due,
        "decided": a.decided_at.strftime("%d %B %Y") if a.decided_at else None,
        "renews_on": renews_on.strftime("%d %B %Y") if renews_on else None,
        "decision_message": a.decision_message,
        "items": [(label, progress.value, progress.label, detail) for label, progress, detail in items],
        "complete": all(progress is Progress.DONE for _, progress, _ in items),
        "ready": all(progress is not Progress.TODO for _, progress, _ in items),
        "fees": fee_breakdown(
            schedule=DEFAULT_FEE_SCHEDULE,
            category=a.category,
            membership_fee_due=membership is None or not membership.current,
        ),
        "checks": checks,
        "eligibility_recorded": a.eligibility_recorded_at is not None,
        "membership": membership,
        "references": references,
        "editable": a.status in EDITABLE,
        "active": a.status in ACTIVE,
    }


def register(app: Flask) -> None:
    @app.get("/applications/<int:application_id>")
    def application_page(application_id: int):
        if application_id > MAX_ID:
            abort(404)
        with connect() as conn:
            user = signed_in_user(conn)
            if user is None or user.role != "applicant":
                abort(404)
            rows = conn.execute(_statement(application_id, user.id)).all()
        if not rows:
            abort(404)
        return render_template(
            "application_page.html", user=user, id=application_id, page=_page(rows, utc_today()), csrf=csrf_token()
        )
