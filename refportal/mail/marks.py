"""How the sender records "sent": one autocommit UPDATE per accepted message, committed before the
next message's mark, so a sender killed mid-batch re-sends at most the message in flight. The same
UPDATE records the envelope sender the accepted transmission used (OutboxEmail.return_path): what the
server accepted is what a delivery report comes back to, whatever BOUNCE_ADDRESS said when the row was
queued or on an earlier attempt.

On PostgreSQL the UPDATE does not hold up the next message: it is handed to the server, which runs and
commits it while the next message goes out over SMTP, and its answer is read before the next mark is
sent (libpq's asynchronous calls on the pool's own psycopg connection; one statement in flight). Once
handed over, the UPDATE commits even if the sender dies. It is prepared once per batch (the server plans
it once, not for every message), and the marks' connection commits without waiting for the disk
(synchronous_commit off, for this connection only while the batch runs and reset before the pool gets
it back): the server has the commit as soon as it answers, and writes it within a fraction of a second
(wal_writer_delay); only a crash of the database server itself in that moment could lose the last marks,
and their messages then go out again when their lease runs out, as after any failed mark (at least
once). Elsewhere (SQLite) each mark waits."""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from psycopg import pq

from refportal.db import utcnow
from refportal.extensions import db
from refportal.mail.models import OutboxEmail, OutboxStatus

_TABLE: sa.Table = OutboxEmail.__table__  # type: ignore[assignment]
_SENT = (
    sa.update(_TABLE)
    .where(_TABLE.c.id == sa.bindparam("row_id"))
    .values(
        status=OutboxStatus.SENT,
        sent_at=sa.bindparam("sent_at"),
        return_path=sa.bindparam("return_path"),
        attempts=_TABLE.c.attempts + 1,
        claimed_until=None,
        last_error=None,
    )
)
# The same statement for libpq, sent_at as naive UTC (the column's storage, refportal.db.UTCDateTime).
_SENT_SQL = (
    b"UPDATE outbox_email SET status = 'sent', sent_at = $1::timestamp, return_path = $3::varchar, "
    b"attempts = attempts + 1, claimed_until = NULL, last_error = NULL WHERE id = $2::integer"
)


_STATEMENT = b"refportal_sent_mark"  # its name while a batch runs


class MarkFailed(RuntimeError):
    """The database refused or lost a "sent" mark: the sender stops; the row's lease runs out and
    the message is sent again (at least once)."""


class SentMarks:
    def __init__(self, conn: sa.Connection):
        self.conn = conn

    def mark(self, row_id: int, *, return_path: str) -> None:
        """Outbox row `row_id` was accepted by the server, sent with the envelope sender `return_path`.
        The session's copy of the row, if it holds one, is not updated (the sender reads the claimed
        rows' values, not ORM objects)."""
        self._record(row_id, utcnow(), return_path)

    def _record(self, row_id: int, sent_at: datetime, return_path: str) -> None:
        self.conn.execute(_SENT, {"row_id": row_id, "sent_at": sent_at, "return_path": return_path})

    def finish(self) -> None:
        """Every mark handed over is committed (or its error raised)."""

    def close(self) -> None:
        """The connection as the pool lent it (called once the last answer is read)."""


class OverlappedSentMarks(SentMarks):
    """PostgreSQL: hand the UPDATE over and read its answer before the next one. A server that does
    not answer within `timeout` seconds (a lost connection, a blocked row) raises MarkFailed."""

    def __init__(self, conn: sa.Connection, timeout: float = 30):
        super().__init__(conn)
        driver_connection = conn.connection.driver_connection
        assert driver_connection is not None  # noqa: S101 - a connection taken from the pool is open
        self.pgconn = driver_connection.pgconn
        self.timeout = timeout
        self.pending = False
        # Prepared for this batch and deallocated at its end (close), not kept with the connection:
        # psycopg deallocates every prepared statement of a connection when it rolls back one that has
        # prepared statements of its own (DEALLOCATE ALL).
        prepared = self.pgconn.prepare(_STATEMENT, _SENT_SQL)
        if prepared.status != pq.ExecStatus.COMMAND_OK:
            raise MarkFailed(f"marking messages sent failed: {prepared.error_message.decode(errors='replace')}")
        conn.exec_driver_sql("SET synchronous_commit TO OFF")

    def _record(self, row_id: int, sent_at: datetime, return_path: str) -> None:
        self.finish()
        naive_utc = sent_at.astimezone(UTC).replace(tzinfo=None).isoformat()
        self.pgconn.send_query_prepared(_STATEMENT, [naive_utc.encode(), str(row_id).encode(), return_path.encode()])
        self.pending = True
        while self.pgconn.flush():  # the rest of the statement once the socket takes it
            self._wait(readable=False)

    def _wait(self, *, readable: bool) -> None:
        socket = self.pgconn.socket
        ready = select.select([socket] if readable else [], [] if readable else [socket], [], self.timeout)
        if not any(ready):
            raise MarkFailed(f"marking a message sent failed: no answer from the database within {self.timeout:g} s")

    def finish(self) -> None:
        if not self.pending:
            return
        self.pending = False
        while True:
            self.pgconn.consume_input()
            if not self.pgconn.is_busy():
                break
            self._wait(readable=True)
        results = []
        while (result := self.pgconn.get_result()) is not None:
            results.append(result)
        failed = [r for r in results if r.status != pq.ExecStatus.COMMAND_OK]
        if failed or not results:
            message = failed[0].error_message.decode(errors="replace") if failed else "no answer"
            raise MarkFailed(f"marking a message sent failed: {message}")

    def close(self) -> None:
        if self.pgconn.exec_(b"DEALLOCATE " + _STATEMENT).status != pq.ExecStatus.COMMAND_OK:
            self.conn.invalidate()  # not the connection the pool lent: discarded
            return
        self.conn.exec_driver_sql("RESET synchronous_commit")


@contextmanager
def sent_marks(timeout: float = 30) -> Iterator[SentMarks]:
    """Marks on a connection of their own, given back to the pool as it was lent; a connection whose mark
    failed is discarded, not pooled, so the next batch starts on a fresh one."""
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        marks = None
        try:
            marks = OverlappedSentMarks(conn, timeout) if conn.dialect.driver == "psycopg" else SentMarks(conn)
            try:
                yield marks
            finally:
                marks.finish()  # read the last answer, whatever ended the batch
        except MarkFailed:
            conn.invalidate()
            raise
        finally:
            if marks is not None and not conn.invalidated:
                marks.close()
