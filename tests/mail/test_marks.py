"""The "sent" marks: on PostgreSQL handed to the server and left to commit while the next message
goes out; committed even if the sender dies before reading the answer; a refused mark stops the sender."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from refportal.extensions import db
from refportal.mail import marks as marks_module
from refportal.mail.marks import MarkFailed, OverlappedSentMarks, sent_marks
from refportal.mail.models import OutboxEmail, OutboxStatus
from tests.mail.helpers import queue, rows
from tests.support import require


def on_postgresql(app) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            require("PostgreSQL", "the overlapped marks use libpq's asynchronous calls (set TEST_DATABASE_URL)")


def test_every_mark_is_committed_when_the_batch_ends(app):
    queue(app, "a@example.org", "b@example.org", "c@example.org")
    with app.app_context():
        claimed = list(db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))
        with sent_marks() as marks:
            for row in claimed:
                marks.mark(row.id, return_path=f"bounces+{row.id}-0a@example.org")
    assert [(r.status, r.attempts, r.sent_at is not None, r.return_path) for r in rows(app)] == [
        (OutboxStatus.SENT, 1, True, f"bounces+{n}-0a@example.org") for n in (1, 2, 3)
    ]


def test_a_mark_handed_over_commits_even_if_the_sender_dies_before_the_answer(app):
    on_postgresql(app)
    queue(app, "a@example.org")
    with app.app_context():
        [row] = db.session.scalars(sa.select(OutboxEmail))
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            marks = OverlappedSentMarks(conn)
            marks.mark(row.id, return_path="no-reply@example.org")
            marks.pgconn.finish()  # the process is gone: the answer is never read
            conn.invalidate()
    deadline = time.monotonic() + 5
    while rows(app)[0].status is not OutboxStatus.SENT:
        assert time.monotonic() < deadline, "the handed-over mark was not committed"
        time.sleep(0.05)
    assert rows(app)[0].return_path == "no-reply@example.org"  # in the same statement


def test_a_refused_mark_stops_the_sender_with_the_reason(app, monkeypatch):
    on_postgresql(app)
    queue(app, "a@example.org", "b@example.org")
    monkeypatch.setattr(
        marks_module,
        "_SENT_SQL",
        b"UPDATE outbox_email SET no_such_column = 1 WHERE id = $2::integer AND $1::timestamp IS NOT NULL "
        b"AND $3::varchar IS NOT NULL",
    )
    with app.app_context():
        claimed = list(db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))
        with pytest.raises(MarkFailed, match="no_such_column"), sent_marks() as marks:
            marks.mark(claimed[0].id, return_path="no-reply@example.org")
            marks.mark(claimed[1].id, return_path="no-reply@example.org")  # reads the first one's answer first


def test_a_database_that_does_not_answer_fails_the_mark_in_time_and_the_next_batch_reconnects(app):
    """A mark that gets no answer (here: its row held by another transaction) raises MarkFailed after
    the timeout instead of waiting for ever; that connection is discarded and the next marks work."""
    on_postgresql(app)
    queue(app, "a@example.org", "b@example.org")
    with app.app_context():
        claimed = list(db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))
        blocker = db.engine.connect()
        blocker.execute(sa.text("SELECT id FROM outbox_email WHERE id = :id FOR UPDATE"), {"id": claimed[0].id})
        started = time.monotonic()
        with pytest.raises(MarkFailed, match="no answer from the database within 1 s"), sent_marks(timeout=1) as marks:
            marks.mark(claimed[0].id, return_path="no-reply@example.org")
        assert time.monotonic() - started < 5
        blocker.rollback()
        blocker.close()
        with sent_marks(timeout=5) as marks:  # a fresh connection, not the one left waiting
            marks.mark(claimed[1].id, return_path="no-reply@example.org")
    assert [r.status for r in rows(app)][1] is OutboxStatus.SENT


def test_the_marks_connection_goes_back_to_the_pool_as_it_was_lent(app):
    """The marks' connection commits without waiting for the disk (synchronous_commit off) and holds the
    prepared "sent" UPDATE only while the batch runs: the pool gets it back with the server's setting and
    no statement of the sender's, whether the batch ended normally or with an error of the sender's; a
    batch after psycopg deallocated everything on the connection (DEALLOCATE ALL, which it sends when it
    rolls back a connection with prepared statements of its own) prepares it again."""
    on_postgresql(app)
    queue(app, "a@example.org", "b@example.org", "c@example.org")

    def ours(conn) -> int:
        return conn.exec_driver_sql(
            "SELECT count(*) FROM pg_prepared_statements WHERE starts_with(name, 'refportal_')"
        ).scalar()

    with app.app_context():
        claimed = list(db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))
        with db.engine.connect() as conn:
            lent = conn.connection.dbapi_connection
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
        with sent_marks() as marks:
            assert marks.conn.connection.dbapi_connection is lent  # the pool's one connection
            assert marks.conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
            assert ours(marks.conn) == 1
            marks.mark(claimed[0].id, return_path="no-reply@example.org")
        with db.engine.connect() as conn:
            assert (conn.exec_driver_sql("SHOW synchronous_commit").scalar(), ours(conn)) == ("on", 0)
            conn.exec_driver_sql("DEALLOCATE ALL")
        with pytest.raises(LookupError), sent_marks() as marks:
            marks.mark(claimed[1].id, return_path="no-reply@example.org")
            raise LookupError("the sender's own error")
        with sent_marks() as marks:
            marks.mark(claimed[2].id, return_path="no-reply@example.org")
        with db.engine.connect() as conn:
            assert conn.connection.dbapi_connection is lent
            assert (conn.exec_driver_sql("SHOW synchronous_commit").scalar(), ours(conn)) == ("on", 0)
    assert [r.status for r in rows(app)] == [OutboxStatus.SENT] * 3
