"""The queue at scale, on PostgreSQL (skipped on SQLite): with 20,000 applications written in bulk and
analysed, the statement of a page's ids, for the first page and for the pages after and before a row
a third of the way down, in every order, unfiltered, filtered by status and by review round, reads an index
in the order's direction
and stops at the page (no Seq Scan of the applications, no sort of all of them, no node reading more than
a few hundred rows); the count walks an index and stops at its limit. The plans are EXPLAIN ANALYZE of the very
statements (and parameters) the page sends."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.extensions import db
from refportal.reviews.queue_query import (
    SORTS,
    Cursor,
    Position,
    QueueFilters,
    QueueRules,
    count_statement,
    key_columns,
    page_ids,
)
from tests.plans import analysed, rows_read

LARGE = 20_000
PAGE = 26  # a page of 25 and one more
COUNT_LIMIT = 1000
ORDER_INDEX = {"submitted": "newest", "oldest": "oldest", "created": "created"}  # ix_application_queue_…
FILTERS = {  # the common filters: none, a status, a review round (where the round page links to)
    "": ({}, ""),
    "status": ({"status": "submitted"}, "status_"),
    "round": ({"review_round_id": 2}, "round_"),
}


def add_applications(app, count: int) -> None:
    """`count` applicants with one application each (ids from 1,000,000), in two INSERT ... SELECT:
    a fifth drafts (never submitted), submissions on 200 days (many ties) in four review rounds of 50 days,
    then VACUUM ANALYZE; then the submitted ones changed (their rows at the table's end) and ANALYZE."""
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO user_account (id, email, name, password_hash, role, created_at, session_version) "
                    "SELECT g, 'bulk' || g || '@example.org', 'Bulk ' || g, 'not a hash', 'applicant', now(), 1 "
                    "FROM generate_series(1000000, 1000000 + :n - 1) g"
                ),
                {"n": count},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO review_round (id, name, opens_on, submission_deadline, review_due, created_at) "
                    "SELECT r, 'Round ' || r, current_date, current_date, current_date, now() "
                    "FROM generate_series(1, 4) r"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO application (id, applicant_id, credential, category, status, created_at, "
                    "updated_at, changed_at, submitted_at, review_round, review_round_id, eligibility_source) "
                    "SELECT g, g, 'imh-e', 1 + g % 4, "
                    "(ARRAY['draft','submitted','submitted','submitted','endorsed'])[1 + g % 5], "
                    "now() - (g % 300) * interval '1 day', now(), now(), "
                    "CASE WHEN g % 5 = 0 THEN NULL ELSE now() - (g % 200) * interval '1 day' END, 1, "
                    "CASE WHEN g % 5 = 0 THEN NULL ELSE 1 + (g % 200) / 50 END, 'entries' "
                    "FROM generate_series(1000000, 1000000 + :n - 1) g"
                ),
                {"n": count},
            )
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("user_account", "application"):
                conn.exec_driver_sql(f"VACUUM ANALYZE {table}")
            # Then submitted: as in the portal, a submission's new row version is stored at the table's end
            # (and the table is analysed, not yet vacuumed again).
            conn.execute(sa.text("UPDATE application SET changed_at = now() WHERE status = 'submitted'"))
            conn.exec_driver_sql("ANALYZE application")


@pytest.fixture
def large(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("query plans are checked on PostgreSQL (the first pass of .ci/run)")
    add_applications(app, LARGE)
    return app


def middle_key(app, filters: QueueFilters) -> Cursor:
    """The key of the row a third of the way down the order (where a deep page starts)."""
    order = SORTS[filters.sort]
    with app.test_request_context():
        ids = page_ids(filters, utc_today(), RULES, position=Position(offset=LARGE // 15), limit=1).subquery()
        statement = sa.select(*key_columns(order)).select_from(Application).join(ids, ids.c.id == Application.id)
        if order.reads_applicant:
            from refportal.accounts.models import User

            statement = statement.join(User, User.id == Application.applicant_id)
        return Cursor(filters.sort, tuple(db.session.execute(statement).one()))


RULES = QueueRules(reviewers_per_file=2, requirements={})


@pytest.mark.parametrize("sort", list(SORTS))
def test_a_page_reads_its_rows_in_order_from_an_index_and_stops(large, sort):
    for filtered, (values, prefix) in FILTERS.items():
        filters = QueueFilters(sort=sort, **values)
        cursor = middle_key(large, filters)
        for position in (Position(), Position(after=cursor), Position(before=cursor)):
            plan = analysed(large, page_ids(filters, utc_today(), RULES, position=position, limit=PAGE))
            where = (filtered, position)
            assert not re.search(r"Seq Scan on (application|user_account)\b", plan), (where, plan)
            # No sort of the rows found (an incremental sort of one applicant's few applications is fine).
            assert not re.search(r"(^|->  )Sort\b", plan, re.MULTILINE), (where, plan)
            if sort == "name":  # the applicants' names in order, then each one's applications by its index
                assert re.search(r"Index Only Scan (Backward )?using ix_user_account_name on user_account", plan), (
                    where,
                    plan,
                )
                assert "ix_application_applicant_status" in plan, (where, plan)
                # The applicants are read in name order until a page of them match: a round's fifth of them.
                assert rows_read(plan) <= (400 if filtered == "round" else 200), (where, plan)
            else:
                index = f"ix_application_queue_{prefix}{ORDER_INDEX[sort]}"
                assert re.search(rf"Index (Only )?Scan (Backward )?using {index} on application", plan), (where, plan)
                assert rows_read(plan) <= PAGE, (where, plan)
            assert re.search(rf"Limit \(actual rows={PAGE}\b", plan), (where, plan)  # a full page and one more


def test_the_count_reads_no_more_than_its_limit(large):
    """The count walks the newest-first index (within the status) and stops after its limit: its cost does
    not depend on where the rows are stored (the submitted ones after all the others: they changed last) or
    on what the planner guesses of them."""
    cases = [({"status": status}, "status_") for status in ("submitted", "draft", "endorsed")]
    cases += [({}, ""), ({"review_round_id": 2}, "round_")]
    for values, prefix in cases:
        plan = analysed(large, count_statement(QueueFilters(**values), utc_today(), RULES, COUNT_LIMIT))
        index = f"ix_application_queue_{prefix}newest"
        assert re.search(rf"Index Scan (Backward )?using {index} on application", plan), (values, plan)
        assert re.search(rf"Limit \(actual rows={COUNT_LIMIT + 1}\b", plan), (values, plan)
        assert rows_read(plan) <= COUNT_LIMIT + 1, (values, plan)
