"""/review/ from the statements a careful engineer would write for the page's data needs (the best-query
floor of the reviewer queue): the bench's queue pages (the first page; a page reached by its links, sorted
and filtered by status) with the same-page floor's form, rules and template, so the same bytes.

Three statements where refportal's page runs four: the signed-in user; the rounds (the round filter's
choices); and one hand-written statement for the rest: the page's ids read from the order's index (from the
link's key, keyset; or by offset for a page number alone), the count stopping past its limit, and each
row's applicant, membership, counted ratings and reviews of its current cycle. Other filters are not
served (404): the statements below are written for the pages the bench loads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, abort, render_template, request

from floor import review_queue as same_page
from floor.common import connect, signed_in_user
from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.membership.models import MembershipDeclaration
from refportal.reviews import queue_query

# Each order's key, the application's id last, and its direction; the expressions are those of the indexes
# (migrations d7e3a1c5b9f2 and 2f33db50c777): newest and oldest submission (a file never submitted last),
# newest opened, the applicant's name (user_account's (name, id) index, then each applicant's applications).
NEWEST = "coalesce(a.submitted_at, '0001-01-01 00:00:00.000001'::timestamp)"
OLDEST = "coalesce(a.submitted_at, '9999-12-31 23:59:59.999999'::timestamp)"
ORDERS = {
    "submitted": ((NEWEST, "a.id"), "desc"),
    "oldest": ((OLDEST, "a.id"), "asc"),
    "created": (("a.created_at", "a.id"), "desc"),
    "name": (("u.name", "u.id", "a.id"), "asc"),
}

COLUMNS = [
    ("matching", sa.Integer()),
    ("id", sa.Integer()),
    ("name", sa.String()),
    ("email", sa.String()),
    *((name, Application.__table__.c[name].type) for name in ("credential", "category", "mentor_track", "status")),
    ("submitted_at", Application.__table__.c.submitted_at.type),
    *(
        (name, Application.__table__.c[name].type)
        for name in ("eligibility_source", "portfolio_id", "education_level", "work_years", "training_hours")
    ),
    ("rsc_hours", sa.Integer()),
    ("eligibility_recorded_at", Application.__table__.c.eligibility_recorded_at.type),
    ("membership_id", sa.Integer()),
    ("membership_status", MembershipDeclaration.__table__.c.status.type),
    ("expires_on", sa.Date()),
    ("counted", sa.Integer()),
    ("reviews", sa.Integer()),
]


def page_statement(sort: str, status: str, position: queue_query.Position, limit: int) -> sa.TextClause:
    """The page's rows (at most `limit`, in the order shown) and how many match, up to COUNT_LIMIT + 1."""
    keys, direction = ORDERS[sort]
    cursor = position.after or position.before
    backward = position.before is not None
    inner = ("asc" if direction == "desc" else "desc") if backward else direction
    params: dict[str, object] = {"limit": limit, "offset": position.offset, "count_limit": same_page.COUNT_LIMIT + 1}
    where = ["a.status = :status"] if status else []
    if status:
        params["status"] = status
    if cursor is not None:
        values = []
        for n, value in enumerate(cursor.key):
            params[f"k{n}"] = value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) else value
            cast = "timestamp" if isinstance(value, datetime) else "text" if isinstance(value, str) else "integer"
            values.append(f"CAST(:k{n} AS {cast})")
        compare = "<" if inner == "desc" else ">"
        if sort == "name":  # where the name index's scan starts, then the place within the key's applicant
            where.append(f"(u.name, u.id) {compare}= ({values[0]}, {values[1]})")
            where.append(f"(u.id <> {values[1]} OR a.id {compare} {values[2]})")
        else:
            where.append(f"({', '.join(keys)}) {compare} ({', '.join(values)})")
    join = "JOIN user_account u ON u.id = a.applicant_id" if sort == "name" else ""
    matching_where = "WHERE a.status = :status" if status else ""
    sql = f"""
WITH page AS (
    SELECT a.id FROM application a {join}
    {"WHERE " + " AND ".join(where) if where else ""}
    ORDER BY {", ".join(f"{key} {inner}" for key in keys)}
    LIMIT :limit OFFSET :offset
), matching AS (  -- read in the newest-first index (within the status), stopping past the limit
    SELECT count(*) AS n FROM (
        SELECT 1 FROM application a {matching_where} ORDER BY {NEWEST} DESC, a.id DESC LIMIT :count_limit
    ) AS limited
)
SELECT matching.n AS matching, shown.*
FROM matching LEFT JOIN LATERAL (
    SELECT a.id, u.name, u.email, a.credential, a.category, a.mentor_track, a.status, a.submitted_at,
           a.eligibility_source, a.portfolio_id, a.education_level, a.work_years, a.training_hours, a.rsc_hours,
           a.eligibility_recorded_at, m.id AS membership_id, m.status AS membership_status, m.expires_on,
           (SELECT count(*) FROM reference r JOIN rating ON rating.reference_id = r.id
             WHERE r.application_id = a.id AND r.status = 'submitted' AND rating.counts) AS counted,
           (SELECT count(*) FROM review v WHERE v.application_id = a.id AND v.round = a.review_round) AS reviews,
           {", ".join(f"{key} AS key_{n}" for n, key in enumerate(keys))}
    FROM page JOIN application a ON a.id = page.id JOIN user_account u ON u.id = a.applicant_id
    LEFT JOIN membership_declaration m ON m.application_id = a.id
) AS shown ON true
ORDER BY {", ".join(f"shown.key_{n} {direction}" for n in range(len(keys)))}
"""
    key_types = [Application.__table__.c.submitted_at.type] if sort != "name" else [sa.String()]
    key_types += [sa.Integer()] * (len(keys) - 1)
    if sort == "created":
        key_types[0] = Application.__table__.c.created_at.type
    typed = COLUMNS + [(f"key_{n}", key_type) for n, key_type in enumerate(key_types)]
    return sa.text(sql).bindparams(**params).columns(*(sa.column(name, type_) for name, type_ in typed))


def register(app: Flask) -> None:
    @app.get("/review/")
    def best_review_queue():
        today = utc_today()
        with connect() as conn:
            user = signed_in_user(conn)
            if user is None or user.role not in same_page.STAFF:
                abort(404)
            ask = same_page.asked(request.args, user, same_page.rounds_of(conn))
            sort = queue_query.sort_name(ask.filters)
            if ask.filters != replace(queue_query.QueueFilters(), status=ask.filters.status, sort=ask.filters.sort):
                abort(404)  # a filter this floor's statement is not written for
            statement = page_statement(sort, ask.filters.status, ask.request.position, same_page.PER_PAGE + 1)
            found = conn.execute(statement).all()
            shown = [row for row in found if row.id is not None]
            rows, paging = same_page.arranged(ask, shown)
            entries = same_page.portfolios(conn, rows)
        matching = found[0].matching if found else 0
        context = same_page.page_context(ask, user, rows, paging, matching, entries, today)
        return render_template("review_queue.html", **context)
