"""The file's audit trail at scale, on PostgreSQL (skipped on SQLite): with 30,000 audit events of other
applications, references and documents written in bulk and analysed, the trail's statement for one file
reads each kind of object from the (object_type, object_id) index and joins back by primary key: no Seq
Scan of the audit events, no node reading more than the file's own events. (One OR over the three kinds
read every document's events and then every audit row: 38 ms at 10,000 applications, 4 ms now.)"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.audit.models import AuditEvent
from refportal.extensions import db
from refportal.reviews.file_page import trail_statement
from tests.plans import analysed, rows_read

OTHERS = 10_000  # events of each kind (application, reference, document) about other files
OWN = 40  # the file's own events, half of them readings


@pytest.fixture
def many_events(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("query plans are checked on PostgreSQL (the first pass of .ci/run)")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_event (occurred_at, action, object_type, object_id, details) "
                    "SELECT now() - g * interval '1 minute', 'file.ratings_read', kind, 1000 + g, '{}' "
                    "FROM generate_series(1, :n) g, unnest(ARRAY['application', 'reference', 'document']) kind"
                ),
                {"n": OTHERS},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO audit_event (occurred_at, action, object_type, object_id, details) "
                    "SELECT now() - g * interval '1 minute', "
                    "CASE WHEN g % 2 = 0 THEN 'file.ratings_read' ELSE 'application.submitted' END, "
                    "'application', 7, '{}' FROM generate_series(1, :n) g"
                ),
                {"n": OWN},
            )
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE audit_event")
    return app


def test_the_trail_reads_only_the_files_own_events(many_events):
    plan = analysed(many_events, trail_statement(7, [8, 9, 10], AuditEvent, User))
    assert "Seq Scan on audit_event" not in plan, plan
    assert "ix_audit_event_object" in plan, plan
    assert rows_read(plan) <= OWN, plan
    with many_events.app_context():
        rows = db.session.execute(trail_statement(7, [8, 9, 10], AuditEvent.id)).all()
    assert len(rows) == OWN  # 20 changes and the 20 latest readings
