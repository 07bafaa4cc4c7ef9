"""/review/: the reviewer queue, filtered, sorted and paged from the query string (refportal.reviews.views.queue).

Four statements, as refportal's page: the signed-in user, the rounds (the round filter's choices), the
count (stopping past the count limit) and the page's rows with their per-row counts. The filter form is
refportal's QueueFilterForm read the way WTForms reads it (the same values, the same error messages);
the filters are refportal.reviews.queue_query's (_filtered), written here with its own SQL clause builders."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Flask, abort, render_template, request
from werkzeug.datastructures import MultiDict

from floor.common import connect, csrf_token, signed_in_user
from refportal.accounts.models import User
from refportal.applications.categories import CATEGORIES, Credential, category_name
from refportal.applications.eligibility import eligible_clause
from refportal.applications.lifecycle import UNDECIDED, ApplicationStatus
from refportal.applications.models import Application
from refportal.config import DEFAULT_ELIGIBILITY_REQUIREMENTS
from refportal.db import utc_today
from refportal.membership.models import MembershipDeclaration, MembershipStatus
from refportal.reviews.models import Review, ReviewAssignment, ReviewRound
from refportal.reviews.queue_query import SORTS
from refportal.submission.completeness import complete_clause, counted_ratings

# refportal's settings as the benchmark runs it (refportal/config.py's defaults).
PER_PAGE = 25  # QUEUE_PAGE_SIZE
COUNT_LIMIT = 1000  # QUEUE_COUNT_LIMIT
REVIEWERS_PER_FILE = 2
READ_UNASSIGNED = True  # REVIEWERS_READ_UNASSIGNED
REQUIREMENTS = DEFAULT_ELIGIBILITY_REQUIREMENTS
STAFF = ("reviewer", "admin")

# QueueFilterForm's select fields: (name, label, choices); the rounds' choices come from the database.
CHOICES = {
    "credential": [("", "Any")] + [(c.value, c.short) for c in Credential],
    "category": [("", "Any")] + [(str(n), str(n)) for n in CATEGORIES],
    "status": [("", "Any")] + [(s.value, s.label) for s in ApplicationStatus],
    "membership": [("", "Any"), ("none", "Not declared")] + [(s.value, s.label) for s in MembershipStatus],
    "completeness": [("", "Any"), ("complete", "Complete"), ("incomplete", "Incomplete")],
    "mine": [("", "Anyone"), ("assigned", "Assigned to me"), ("unassigned", "Short of reviewers")],
    "sort": [
        ("submitted", "Newest submission"),
        ("oldest", "Oldest submission"),
        ("created", "Newest opened"),
        ("name", "Applicant name"),
    ],
}
FIELDS = [  # (name, label, kind) in the form's order
    ("q", "Applicant name or e-mail", "search"),
    ("credential", "Credential", "select"),
    ("category", "Category", "select"),
    ("status", "Status", "select"),
    ("membership", "Membership", "select"),
    ("completeness", "File", "select"),
    ("review_round", "Round", "select"),
    ("mine", "Reviewer", "select"),
    ("submitted_from", "Submitted from", "date"),
    ("submitted_to", "Submitted until", "date"),
    ("sort", "Sort by", "select"),
]
SINGLE_LINE = "Use a single line of text, without line breaks or control characters."
URL_SAFE = "!$'()*,/:;?@"  # Werkzeug's url_for query encoding


@dataclass
class Field:
    id: str
    label: str
    kind: str
    value: str = ""  # inputs: what the field shows
    options: list[tuple[str, str, bool]] = field(default_factory=list)  # selects: (value, label, selected)
    errors: list[str] = field(default_factory=list)
    data: object = None  # the valid value, or None


def _read_form(args: MultiDict, rounds: list[tuple[str, str]]) -> dict[str, Field]:
    """QueueFilterForm(request.args), validated: each field's shown value, options, errors and data."""
    fields = {}
    for name, label, kind in FIELDS:
        f = Field(name, label, kind)
        raw = args.getlist(name)
        if kind == "search":
            data = raw[0].strip() if raw else None
            f.value = data or ""
            if raw and raw[0].strip():
                if len(data) > 120:
                    f.errors.append("Field cannot be longer than 120 characters.")
                if any(unicodedata.category(ch) == "Cc" for ch in data):
                    f.errors.append(SINGLE_LINE)
            f.data = None if f.errors else data
        elif kind == "date":
            f.value = " ".join(raw)
            if raw:
                try:
                    f.data = datetime.strptime(f.value, "%Y-%m-%d").date()
                except ValueError:
                    if raw[0].strip():  # Optional() forgives an empty first value
                        f.errors.append("Not a valid date value.")
        else:
            choices = rounds if name == "review_round" else CHOICES[name]
            data = raw[0] if raw else None
            f.options = [(value, text, value == data) for value, text in choices]
            if raw and raw[0] != "" and not any(selected for _, _, selected in f.options):
                f.errors.append("Not a valid choice.")
            f.data = None if f.errors else data
        fields[name] = f
    return fields


def _page_number(args: MultiDict) -> int:
    """WholeNumber("Page", default=1, [Optional(), NumberRange(1, 100_000)]): the page, or 1."""
    raw = args.getlist("page")
    if not raw or not raw[0].strip() or len(raw[0].strip().lstrip("+-")) > 9:
        return 1
    try:
        number = int(raw[0])
    except ValueError:
        return 1
    return number if 1 <= number <= 100_000 else 1


# Built once (it depends on the settings only), not for every request.
ELIGIBLE = eligible_clause(REQUIREMENTS).label("eligible")


def _filtered(form: dict[str, Field], user, today: date, *columns, ordered: bool) -> sa.Select:
    """refportal.reviews.queue_query._filtered for the form's valid filters."""
    value = {name: f.data for name, f in form.items()}
    q, sort = value["q"] or "", value["sort"] or "submitted"
    mine = value["mine"] or ""
    query = sa.select(*columns).select_from(Application)
    if q or (ordered and sort == "name"):
        query = query.join(User, Application.applicant_id == User.id)
    if value["membership"] or value["completeness"]:
        query = query.outerjoin(MembershipDeclaration, MembershipDeclaration.application_id == Application.id)
    if q:
        query = query.where(
            sa.or_(
                sa.func.lower(User.name).contains(q.lower(), autoescape=True),
                sa.func.lower(User.email).contains(q.lower(), autoescape=True),
            )
        )
    if value["credential"]:
        query = query.where(Application.credential == value["credential"])
    if value["category"]:
        query = query.where(Application.category == int(value["category"]))
    if value["status"]:
        query = query.where(Application.status == ApplicationStatus(value["status"]))
    if value["review_round"]:
        query = query.where(Application.review_round_id == int(value["review_round"]))
    if mine == "assigned" or (user.role != "admin" and not READ_UNASSIGNED):
        query = query.where(
            sa.exists().where(
                ReviewAssignment.application_id == Application.id, ReviewAssignment.reviewer_id == user.id
            )
        )
    if mine == "unassigned":
        assigned = (
            sa.select(sa.func.count(ReviewAssignment.id))
            .where(ReviewAssignment.application_id == Application.id)
            .scalar_subquery()
        )
        query = query.where(
            Application.status.in_(UNDECIDED),
            assigned < REVIEWERS_PER_FILE,
        )
    if value["membership"] == "none":
        query = query.where(MembershipDeclaration.id.is_(None))
    elif value["membership"]:
        query = query.where(MembershipDeclaration.status_on_is(MembershipStatus(value["membership"]), today))
    if value["completeness"]:
        complete = complete_clause(today, REQUIREMENTS)
        query = query.where(complete if value["completeness"] == "complete" else sa.not_(complete))
    if value["submitted_from"]:
        query = query.where(Application.submitted_at >= datetime.combine(value["submitted_from"], time.min, UTC))
    if value["submitted_to"]:
        end = datetime.combine(value["submitted_to"] + timedelta(days=1), time.min, UTC)
        query = query.where(Application.submitted_at < end)
    return query


def _rows_statement(form: dict[str, Field], user, today: date, page: int) -> sa.Select:
    order = SORTS.get(form["sort"].data or "submitted", SORTS["submitted"])
    ids = (
        _filtered(form, user, today, Application.id, ordered=True)
        .order_by(*order)
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE + 1)
        .subquery()
    )
    reviews = (
        sa.select(sa.func.count(Review.id))
        .where(Review.application_id == Application.id, Review.cycle == Application.review_cycle)
        .correlate(Application)
        .scalar_subquery()
    )
    recorded = sa.and_(
        Application.eligibility_recorded_at.is_not(None),
        Application.education_level.is_not(None),
        Application.work_years.is_not(None),
        Application.training_hours.is_not(None),
        Application.rsc_hours.is_not(None),
    )
    return (
        sa.select(
            Application.id,
            User.name,
            User.email,
            Application.credential,
            Application.category,
            Application.mentor_track,
            Application.status,
            Application.submitted_at,
            MembershipDeclaration.id.label("membership_id"),
            MembershipDeclaration.status.label("membership_status"),
            MembershipDeclaration.expires_on,
            recorded.label("recorded"),
            ELIGIBLE,
            counted_ratings().label("counted"),
            reviews.label("reviews"),
        )
        .join(ids, ids.c.id == Application.id)
        .join(User, Application.applicant_id == User.id)
        .outerjoin(MembershipDeclaration, MembershipDeclaration.application_id == Application.id)
        .order_by(*order)
    )


def _membership_badge(row, today: date) -> tuple[str, str]:
    if row.membership_id is None:
        return "None", "problem"
    status = row.membership_status  # MembershipDeclaration.status_on(today)
    if status in (MembershipStatus.DECLARED, MembershipStatus.VERIFIED) and row.expires_on and row.expires_on < today:
        status = MembershipStatus.EXPIRED
    kind = {"verified": "ok", "rejected": "problem", "expired": "problem"}.get(status.value, "todo")
    return status.label, kind


def _href(path: str, items: list[tuple[str, object]]) -> str:
    return path + ("?" + urlencode(items, safe=URL_SAFE) if items else "")


def register(app: Flask) -> None:
    @app.get("/review/")
    def review_queue():
        today = utc_today()
        args = request.args
        with connect() as conn:
            user = signed_in_user(conn)
            if user is None or user.role not in STAFF:
                abort(404)
            rounds = conn.execute(
                sa.select(ReviewRound.id, ReviewRound.name).order_by(ReviewRound.submission_deadline.desc())
            ).all()
            form = _read_form(args, [("", "Any")] + [(str(r.id), r.name) for r in rounds])
            page = _page_number(args)
            limited = _filtered(form, user, today, Application.id, ordered=False).limit(COUNT_LIMIT + 1).subquery()
            matching = conn.execute(sa.select(sa.func.count()).select_from(limited)).scalar() or 0
            shown = conn.execute(_rows_statement(form, user, today, page)).all()
        rows = []
        for row in shown[:PER_PAGE]:
            if not row.recorded:
                eligibility = ("Not recorded", "todo")
            else:
                eligibility = ("Met", "ok") if row.eligible else ("Not met", "problem")
            rows.append(
                {
                    "id": row.id,
                    "name": row.name,
                    "email": row.email,
                    "title": f"{row.credential.short} · "
                    + category_name(row.credential, row.category, row.mentor_track),
                    "status": row.status.label,
                    "submitted": row.submitted_at.strftime("%Y-%m-%d") if row.submitted_at else "—",
                    "membership": _membership_badge(row, today),
                    "eligibility": eligibility,
                    "counted": row.counted,
                    "reviews": row.reviews,
                }
            )
        total = matching if matching <= COUNT_LIMIT else None
        kept = [(k, v) for k, v in args.items() if k != "page"]
        return render_template(
            "review_queue.html",
            user=user,
            csrf=csrf_token(),
            fields=list(form.values()),
            export=_href("/review/export.csv", kept),
            rows=rows,
            total=total,
            pages=None if total is None else max(1, -(-total // PER_PAGE)),
            number=page,
            count_limit=COUNT_LIMIT,
            prev=_href("/review/", [("page", page - 1), *kept]),
            next=_href("/review/", [("page", page + 1), *kept]) if len(shown) > PER_PAGE else None,
        )
