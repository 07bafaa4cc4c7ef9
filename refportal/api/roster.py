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

from refportal.accounts.models import User
from refportal.api.models import ApiKey, IdempotentRequest, Scope
from refportal.audit.services import record
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.membership.roster import COLUMNS, RosterInvalid, import_roster, parse_roster

CONFLICT_TEXT = (
    "This row matches a membership the import leaves as it is (rejected by a reviewer, a closed application, "
    "or another member's details): an administrator sees why on the web import."
)
FIRST_ROW_LINE = 2  # the CSV's line of the first row (after the header): row n is line n + 2


class IdempotencyConflict(Refused):
    """The Idempotency-Key was used before with another request."""


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


def import_records(*, records: list[dict[str, Any]], key: ApiKey, idempotency_key: str, today: date) -> RosterAnswer:
    """Import the rows (or answer as the first request with this Idempotency-Key did). Rows that do not
    parse refuse the whole request (422, by row), as a file with faults is refused whole."""
    request_hash = hashlib.sha256(json.dumps(records, sort_keys=True, default=str).encode()).hexdigest()
    earlier = db.session.scalar(
        sa.select(IdempotentRequest).where(
            IdempotentRequest.api_key_id == key.id, IdempotentRequest.idempotency_key == idempotency_key
        )
    )
    if earlier is not None:
        if earlier.request_hash != request_hash:
            raise IdempotencyConflict("This Idempotency-Key was used with another request: use a new key.")
        return RosterAnswer(earlier.status, earlier.response, replayed=True)
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
    record("api_key.roster_imported", obj=key, rows=len(rows), matched=len(report.matched))
    return RosterAnswer(200, body)
