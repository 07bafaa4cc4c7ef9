"""/review/: the reviewer queue, filtered, sorted and paged from the query string (refportal.reviews.views.queue).

Four statements, as refportal's page: the signed-in user, the rounds (the round filter's choices), the
count (stopping past the count limit) and the page's rows with their per-row counts (and, when a row's
eligibility is read from its evidence entries, those entries: four statements where refportal's page runs
five). The statements are refportal's own (refportal.reviews.queue_query: the count, the page's ids by
keyset or by offset, the per-row counts, the sort keys), their columns read with Core. The rules are
refportal's too: the filters from the form's values (filters_from), where the page starts and its links
(requested, arrange, Paging), the eligibility badge (evaluate_eligibility), the membership's
(MembershipDeclaration.status_on), the category's name. The form is refportal's QueueFilterForm (its
fields' labels and choices) read the way WTForms reads it."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Flask, abort, render_template, request
from werkzeug.datastructures import MultiDict
from wtforms.fields.core import UnboundField

from floor.common import connect, csrf_token, signed_in_user
from refportal.accounts.models import User
from refportal.applications.categories import category_name
from refportal.applications.eligibility import evaluate_eligibility
from refportal.applications.evidence import KINDS
from refportal.applications.models import Application, EligibilitySource
from refportal.config import DEFAULT_ELIGIBILITY_REQUIREMENTS
from refportal.db import utc_today
from refportal.forms import DayField, WholeNumber
from refportal.membership.models import MembershipDeclaration
from refportal.reviews import queue_query
from refportal.reviews.forms import QueueFilterForm
from refportal.reviews.models import ReviewRound
from refportal.submission.completeness import counted_ratings

# refportal's settings as the benchmark runs it (refportal/config.py's defaults).
PER_PAGE = 25  # QUEUE_PAGE_SIZE
COUNT_LIMIT = 1000  # QUEUE_COUNT_LIMIT
READ_UNASSIGNED = True  # REVIEWERS_READ_UNASSIGNED
REQUIREMENTS = DEFAULT_ELIGIBILITY_REQUIREMENTS
RULES = queue_query.QueueRules(reviewers_per_file=2, requirements=REQUIREMENTS)  # REVIEWERS_PER_FILE
STAFF = ("reviewer", "admin")
SINGLE_LINE = "Use a single line of text, without line breaks or control characters."
URL_SAFE = "!$'()*,/:;?@"  # Werkzeug's url_for query encoding


def _form_fields() -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """QueueFilterForm's fields in its order: (name, label, kind, choices), from the form's own declarations."""
    declared = sorted(
        ((name, value) for name, value in vars(QueueFilterForm).items() if isinstance(value, UnboundField)),
        key=lambda item: item[1].creation_counter,
    )
    fields = []
    for name, unbound in declared:
        if unbound.field_class is WholeNumber:  # the page: not drawn
            continue
        kind = "date" if unbound.field_class is DayField else "search" if name == "q" else "select"
        options = [(c.value, str(c.label)) for c in unbound.kwargs.get("choices", [])]
        fields.append((name, str(unbound.args[0]), kind, options))
    return fields


FIELDS = _form_fields()


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
    for name, label, kind, declared in FIELDS:
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
                    if not DayField.FIRST <= f.data <= DayField.LAST:
                        f.data = None
                        f.errors.append(DayField.message)
        else:
            choices = rounds if name == "review_round" else declared
            data = raw[0] if raw else None
            f.options = [(value, text, value == data) for value, text in choices]
            if raw and raw[0] != "" and not any(selected for _, _, selected in f.options):
                f.errors.append("Not a valid choice.")
            f.data = None if f.errors else data
        fields[name] = f
    return fields


def _page_number(args: MultiDict) -> int | None:
    """WholeNumber("Page", [Optional(), NumberRange(1, 100_000)]) as the view reads it: None when absent or wrong."""
    raw = args.getlist("page")
    if not raw or not raw[0] or not raw[0].strip() or len(raw[0].strip().lstrip("+-")) > WholeNumber.MAX_DIGITS:
        return None
    try:
        number = int(raw[0])
    except ValueError:
        return None
    return number if 1 <= number <= 100_000 else None


class _Application(SimpleNamespace):
    """A row lent the model's properties the eligibility rule reads."""

    recorded_eligibility = Application.recorded_eligibility
    from_entries = Application.from_entries
    is_editable = Application.is_editable


class _Membership(SimpleNamespace):
    status_on = MembershipDeclaration.status_on


def rows_statement(ids: sa.Subquery, order: queue_query.Order) -> sa.Select:
    """refportal's rows of the page (queue_query's rows statement) as the columns the page shows."""
    a, m = Application, MembershipDeclaration
    return (
        sa.select(
            a.id,
            User.name,
            User.email,
            a.credential,
            a.category,
            a.mentor_track,
            a.status,
            a.submitted_at,
            a.eligibility_source,
            a.portfolio_id,
            a.education_level,
            a.work_years,
            a.training_hours,
            a.rsc_hours,
            a.eligibility_recorded_at,
            m.id.label("membership_id"),
            m.status.label("membership_status"),
            m.expires_on,
            counted_ratings().label("counted"),
            queue_query.reviews_this_round().label("reviews"),
            *queue_query.key_columns(order),
        )
        .join(ids, ids.c.id == a.id)
        .join(User, a.applicant_id == User.id)
        .outerjoin(m, m.application_id == a.id)
        .order_by(*order.order_by())
    )


def portfolios(conn: sa.Connection, rows: list) -> dict[int, SimpleNamespace]:
    """The evidence entries of the rows whose eligibility is read from them (as
    refportal.reviews.queue_eligibility.entry_rows reads them)."""
    reading = [r for r in rows if r.eligibility_source is EligibilitySource.ENTRIES and r.portfolio_id]
    wanted = sorted({r.portfolio_id for r in reading})
    found: dict[int, SimpleNamespace] = {}
    if not wanted:
        return found
    lists: dict[str, dict[int, list]] = {kind: defaultdict(list) for kind in KINDS}
    for kind, model in KINDS.items():
        for entry in conn.execute(sa.select(model.__table__).where(model.portfolio_id.in_(wanted))):
            lists[kind][entry.portfolio_id].append(entry)
    for portfolio_id in wanted:
        found[portfolio_id] = SimpleNamespace(**{kind: lists[kind][portfolio_id] for kind in KINDS})
    return found


def eligibility_badge(row, portfolio: SimpleNamespace | None) -> tuple[str, str]:
    """The queue's Eligibility badge from refportal's rule (evaluate_eligibility), as the page shows it."""
    application = _Application(**row._mapping, portfolio=portfolio)
    checks = evaluate_eligibility(application, REQUIREMENTS)
    if checks[0].met is None:
        return "Not recorded", "todo"
    return ("Not met", "problem") if any(not check.met for check in checks) else ("Met", "ok")


def membership_badge(row, today: date) -> tuple[str, str]:
    if row.membership_id is None:
        return "None", "problem"
    status = _Membership(status=row.membership_status, expires_on=row.expires_on).status_on(today)
    return status.label, {"verified": "ok", "rejected": "problem", "expired": "problem"}.get(status.value, "todo")


def href(path: str, items: list[tuple[str, object]] | dict[str, Any]) -> str:
    pairs = list(items.items()) if isinstance(items, dict) else items
    return path + ("?" + urlencode(pairs, safe=URL_SAFE) if pairs else "")


@dataclass(frozen=True)
class Asked:
    """What the query string asks for: the form, the filters, the page."""

    form: dict[str, Field]
    filters: queue_query.QueueFilters
    request: queue_query.Requested
    kept: dict[str, str]  # the filters, for the links


def asked(args: MultiDict, user, rounds: list) -> Asked:
    form = _read_form(args, [("", "Any")] + [(str(r.id), r.name) for r in rounds])
    filters = queue_query.filters_from(
        {name: f.data for name, f in form.items()},
        viewer_id=user.id,
        viewer_is_admin=user.role == "admin",
        read_unassigned=READ_UNASSIGNED,
    )
    wanted = queue_query.requested(
        queue_query.sort_name(filters),
        page=_page_number(args),
        after=args.get("after"),
        before=args.get("before"),
        per_page=PER_PAGE,
    )
    kept = {k: v for k, v in args.items() if k not in queue_query.PAGE_ARGS}
    return Asked(form, filters, wanted, kept)


def arranged(ask: Asked, shown: list) -> tuple[list, queue_query.Paging]:
    """The rows to show of those found (at most a page and one more, in the order shown), and the page's place."""
    width = len(queue_query.order_of(ask.filters).keys)  # the sort key: the rows' last columns
    sort = queue_query.sort_name(ask.filters)
    return queue_query.arrange(shown, lambda row: tuple(row[-width:]), ask.request, PER_PAGE, sort)


def page_context(
    ask: Asked, user, found: list, paging: queue_query.Paging, matching: int, entries: dict, today: date
) -> dict[str, Any]:
    rows = [
        {
            "id": row.id,
            "name": row.name,
            "email": row.email,
            "title": f"{row.credential.short} · " + category_name(row.credential, row.category, row.mentor_track),
            "status": row.status.label,
            "submitted": row.submitted_at.strftime("%Y-%m-%d") if row.submitted_at else "—",
            "membership": membership_badge(row, today),
            "eligibility": eligibility_badge(row, entries.get(row.portfolio_id or 0)),
            "counted": row.counted,
            "reviews": row.reviews,
        }
        for row in found
    ]
    total = matching if matching <= COUNT_LIMIT else None
    previous, following = paging.previous_link(ask.kept), paging.next_link(ask.kept)
    return {
        "user": user,
        "csrf": csrf_token(),
        "fields": list(ask.form.values()),
        "export": href("/review/export.csv", ask.kept),
        "refused": ask.request.refused,
        "rows": rows,
        "total": total,
        "pages": None if total is None else max(1, -(-total // PER_PAGE)),
        "number": paging.number,
        "count_limit": COUNT_LIMIT,
        "prev": href("/review/", previous) if previous else None,
        "next": href("/review/", following) if following else None,
    }


def rounds_of(conn: sa.Connection) -> list:
    return conn.execute(
        sa.select(ReviewRound.id, ReviewRound.name).order_by(ReviewRound.submission_deadline.desc())
    ).all()


def register(app: Flask) -> None:
    @app.get("/review/")
    def review_queue():
        today = utc_today()
        with connect() as conn:
            user = signed_in_user(conn)
            if user is None or user.role not in STAFF:
                abort(404)
            ask = asked(request.args, user, rounds_of(conn))
            matching = conn.execute(queue_query.count_statement(ask.filters, today, RULES, COUNT_LIMIT)).scalar()
            ids = queue_query.page_ids(ask.filters, today, RULES, position=ask.request.position, limit=PER_PAGE + 1)
            shown = conn.execute(rows_statement(ids.subquery(), queue_query.order_of(ask.filters))).all()
            found, paging = arranged(ask, shown)
            entries = portfolios(conn, found)
        context = page_context(ask, user, found, paging, matching or 0, entries, today)
        return render_template("review_queue.html", **context)
