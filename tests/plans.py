"""Query plans as the pages send their statements: EXPLAIN ANALYZE on PostgreSQL, and what a plan read.
A plain module: the scale tests import from here."""

from __future__ import annotations

import re

import sqlalchemy as sa

from refportal.extensions import db


def analysed(app, statement: sa.Select) -> str:
    """EXPLAIN ANALYZE of `statement` as the page sends it (its parameters bound by the driver)."""
    with app.test_request_context(), db.engine.connect() as conn:

        def explain(_conn, _cursor, sql, parameters, _context, _many):
            return "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql, parameters

        sa.event.listen(conn, "before_cursor_execute", explain, retval=True)
        return "\n".join(conn.execute(statement).scalars())


def rows_read(plan: str) -> int:
    """The most rows any node of the plan produced or discarded (per loop)."""
    produced = [int(n) for n in re.findall(r"actual rows=(\d+)", plan)]
    removed = [int(n) for n in re.findall(r"Rows Removed by (?:Filter|Index Recheck): (\d+)", plan)]
    return max(produced + removed + [0])
