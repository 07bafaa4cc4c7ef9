"""The roster through the API: the same rows as the CSV import, checked by the same parser and matched
by the same rules (refportal.membership.roster), once per Idempotency-Key."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from refportal.accounts.models import User
from refportal.api.models import ApiKey, IdempotentRequest, Scope
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.membership.roster import COLUMNS, RosterInvalid, import_roster, parse_roster

CONFLICT_TEXT = (
    "This row matches a membership the import leaves as it is (rejected by a reviewer, a closed application, "
    "or another member's details): an administrator sees why on the web import."
)
FIRST_ROW_LINE = 2  # the CSV's line of the first row (after the header): row n is line n + 2
# How long a duplicate waits for the first request with its Idempotency-Key before it is told to retry.
IN_FLIGHT_WAIT = "15s"
# PostgreSQL's SQLSTATEs when lock_timeout (or a shorter statement_timeout) ran out.
WAITED_TOO_LONG = {"55P03", "57014"}


class IdempotencyConflict(Refused):
    """The Idempotency-Key was used before with another request."""


class IdempotencyInFlight(Refused):
    """The first request with this Idempotency-Key is still being processed."""


@dataclass(frozen=True)
class RosterAnswer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def _as_csv(records: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in records:
        writer.writerow([row[column] for column in COLUMNS])
    return out.getvalue()


def _row_of(line: int) -> int:
    return line - FIRST_ROW_LINE


def request_hash_of(records: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(records, sort_keys=True, default=str).encode()).hexdigest()


def earlier_answer(*, key: ApiKey, idempotency_key: str, request_hash: str) -> RosterAnswer | None:
    """The stored answer of an earlier request with this Idempotency-Key (None: there was none)."""
    earlier = db.session.scalar(
        sa.select(IdempotentRequest).where(
            IdempotentRequest.api_key_id == key.id, IdempotentRequest.idempotency_key == idempotency_key
        )
    )
    if earlier is None:
        return None
    if earlier.request_hash != request_hash:
        raise IdempotencyConflict("This Idempotency-Key was used with another request: use a new key.")
    return RosterAnswer(earlier.status, earlier.response, replayed=True)


def lock_id(api_key_id: int, idempotency_key: str) -> int:
    """The advisory lock (a signed 64-bit number) of one API key's Idempotency-Key."""
    digest = hashlib.sha256(f"idempotency:{api_key_id}:{idempotency_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _wait_for_the_first(key: ApiKey, idempotency_key: str) -> None:
    """On PostgreSQL, queue behind any request with the same API key and Idempotency-Key until it commits
    or rolls back (a lock held to the end of the transaction), so a duplicate then finds its answer."""
    if db.session.get_bind().dialect.name != "postgresql":
        return  # SQLite runs one writer at a time; the unique constraint catches what slips through
    previous = db.session.scalar(sa.text("SELECT current_setting('lock_timeout')"))
    db.session.execute(sa.text("SELECT set_config('lock_timeout', :wait, true)"), {"wait": IN_FLIGHT_WAIT})
    try:
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id(key.id, idempotency_key)})
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) in WAITED_TOO_LONG:
            raise IdempotencyInFlight(
                "A request with this Idempotency-Key is still being processed: send it again in a moment."
            ) from exc
        raise
    db.session.execute(sa.text("SELECT set_config('lock_timeout', :wait, true)"), {"wait": previous})


def import_records(*, records: list[dict[str, Any]], key: ApiKey, idempotency_key: str, today: date) -> RosterAnswer:
    """Import the rows (or answer as the first request with this Idempotency-Key did). Rows that do not
    parse refuse the whole request (422, by row), as a file with faults is refused whole."""
    request_hash = request_hash_of(records)
    _wait_for_the_first(key, idempotency_key)
    earlier = earlier_answer(key=key, idempotency_key=idempotency_key, request_hash=request_hash)
    if earlier is not None:
        return earlier
    actor = db.session.get(User, key.created_by_id) if key.created_by_id is not None else None
    if actor is None:
        raise Refused("The administrator who created this key no longer exists: create a new key.")
    try:
        rows = parse_roster(_as_csv(records))
    except RosterInvalid as invalid:
        problems = [{"row": _row_of(line), "problem": problem} for line, problem in invalid.problems]
        return RosterAnswer(422, {"problems": problems})
    report = import_roster(rows=rows, actor=actor, today=today)
    body = {
        "rows": len(rows),
        "matched": [{"row": _row_of(line), "applicant": name} for line, name in report.matched],
        "unmatched": [_row_of(line) for line in report.unmatched],
        # The web import's words name the applicant and a reviewer's note: the API says only which row,
        # and the application when the key may read applications.
        "conflicts": [
            {
                "row": _row_of(c.line),
                "problem": CONFLICT_TEXT,
                "application_id": c.application_id if key.allows(Scope.READ_APPLICATIONS) else None,
            }
            for c in report.conflicts
        ],
    }
    db.session.add(
        IdempotentRequest(
            api_key_id=key.id, idempotency_key=idempotency_key, request_hash=request_hash, status=200, response=body
        )
    )
    record(AuditAction.API_KEY_ROSTER_IMPORTED, obj=key, rows=len(rows), matched=len(report.matched))
    return RosterAnswer(200, body)
