"""The association's member roster (CSV): parse it whole, then verify the declarations it matches.

A row matches a declaration by its member number (with the applicant's e-mail or name), or, for an
applicant who joins with the application ("will join", no member number yet), by the applicant's e-mail.
The import never overturns a reviewer's rejection and never changes the declaration of a decided or
withdrawn application: such rows are reported as conflicts, like a roster that names someone else or
an expired membership.

Once the declarations are done, `roster_imported` is sent with the rows and the report: a package above
this one (an endorsement's renewal) verifies its own memberships from the same rows and adds its lines
to the report."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from blinker import Namespace
from flask import current_app

from refportal.accounts.models import User
from refportal.applications.lifecycle import ACTIVE, ApplicationStatus
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utcnow
from refportal.extensions import db
from refportal.mail.addresses import canonical_email
from refportal.membership.models import MembershipDeclaration, MembershipKind, MembershipStatus, VerificationSource

COLUMNS = ("member_number", "email", "name", "expires_on")
MAX_ROWS = 50_000

# Sent by import_roster with rows, actor, today and report, in the import's transaction: a receiver
# verifies what else the rows confirm, and moves the lines it matched from `report.unmatched` to
# `report.matched` or `report.conflicts`.
roster_imported = Namespace().signal("roster-imported")


@dataclass(frozen=True)
class RosterRow:
    line: int
    member_number: str
    email: str
    name: str
    expires_on: date


class RosterInvalid(Exception):
    """The file cannot be imported; `problems` lists (line, what is wrong). Nothing was changed."""

    def __init__(self, problems: list[tuple[int, str]]):
        super().__init__(f"{len(problems)} problem(s) in the roster")
        self.problems = problems


@dataclass(frozen=True)
class Conflict:
    """A roster line that matches a declaration the import leaves as it is, and why."""

    line: int
    why: str
    application_id: int | None = None
    # Where staff see the record the line concerns when it is not an application: (path, label).
    link: tuple[str, str] | None = None


@dataclass
class ImportReport:
    matched: list[tuple[int, str]] = field(default_factory=list)  # (line, applicant)
    unmatched: list[int] = field(default_factory=list)  # lines matching no declaration
    conflicts: list[Conflict] = field(default_factory=list)


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in value)


def parse_roster(text: str) -> list[RosterRow]:
    """Every row, or RosterInvalid with the line of each fault (a line as the file counts them)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error:
        header = []
    if tuple(header) != COLUMNS:
        raise RosterInvalid([(1, f"the first line must name the columns {', '.join(COLUMNS)}")])
    rows: list[RosterRow] = []
    problems: list[tuple[int, str]] = []
    while True:
        line = reader.line_num + 1  # where the next row starts (a quoted value may span lines)
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            too_long = "field larger than field limit" in str(exc)
            problems.append(
                (line, f"a value is longer than {csv.field_size_limit():,} characters" if too_long else "not valid CSV")
            )
            break  # the reader cannot find the next row reliably
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(COLUMNS):
            problems.append((line, f"expected {len(COLUMNS)} values, found {len(cells)}"))
            continue
        number, email, name, expires = (c.strip() for c in cells)
        if not number or len(number) > 40:
            problems.append((line, "the member number is missing or longer than 40 characters"))
        elif _has_control_characters(number):
            problems.append((line, "the member number contains a line break or another control character"))
        try:
            email = canonical_email(email)
        except ValueError:
            problems.append((line, f"“{email[:60]}” is not an e-mail address"))
        if not name or len(name) > 120:
            problems.append((line, "the name is missing or longer than 120 characters"))
        elif _has_control_characters(name):
            problems.append((line, "the name contains a line break or another control character"))
        try:
            expires_on = date.fromisoformat(expires)
        except ValueError:
            problems.append((line, f"“{expires[:20]}” is not a date (YYYY-MM-DD)"))
            continue
        rows.append(RosterRow(line, number, email, name, expires_on))
        if len(rows) > MAX_ROWS:
            raise RosterInvalid([(line, f"the roster has more than {MAX_ROWS} rows")])
    if problems:
        raise RosterInvalid(problems)
    if not rows:
        raise RosterInvalid([(2, "the roster lists no member after its first line")])
    return rows


@dataclass(frozen=True)
class _Candidate:
    """A declaration as read at the start of the import (columns only: the import may read them all)."""

    id: int
    kind: MembershipKind
    status: MembershipStatus
    member_number: str | None
    declared_at: datetime
    verified_at: datetime | None
    verification_note: str | None
    application_id: int
    application_status: ApplicationStatus
    name: str
    email: str


def _candidates() -> list[_Candidate]:
    rows = db.session.execute(
        sa.select(
            MembershipDeclaration.id,
            MembershipDeclaration.kind,
            MembershipDeclaration.status,
            MembershipDeclaration.member_number,
            MembershipDeclaration.declared_at,
            MembershipDeclaration.verified_at,
            MembershipDeclaration.verification_note,
            Application.id,
            Application.status,
            User.name,
            User.email,
        )
        .join(Application, MembershipDeclaration.application_id == Application.id)
        .join(User, Application.applicant_id == User.id)
    ).all()
    return [_Candidate(*row) for row in rows]


def _conflict(row: RosterRow, candidate: _Candidate, *, by_number: bool, today: date) -> str | None:
    """Why the row must not verify the declaration, or None."""
    who = candidate.name
    if by_number and row.email != candidate.email and not _same_name(row.name, candidate.name):
        return (
            f"member number {row.member_number} is declared by {who} ({candidate.email}), "
            f"but the roster names {row.name} ({row.email})"
        )
    if candidate.application_status not in ACTIVE:
        return (
            f"{who}'s application #{candidate.application_id} is {candidate.application_status.label.lower()}: "
            "the roster does not change its membership"
        )
    if candidate.status is MembershipStatus.REJECTED:
        when = f" on {candidate.verified_at:%d %B %Y}" if candidate.verified_at else ""
        note = f" ({candidate.verification_note})" if candidate.verification_note else ""
        return (
            f"a reviewer rejected {who}'s membership{when}{note}; the roster does not overturn a rejection "
            "(a reviewer may still verify it on the file)"
        )
    if row.expires_on < today:
        return f"the roster says {who}'s membership expired on {row.expires_on:%d %B %Y}"
    return None


def _verify(candidate: _Candidate, row: RosterRow, actor: User) -> bool:
    """Verify the declaration unless, since it was read, it was rejected, declared anew, or its
    application closed (one conditional UPDATE: a rejection recorded meanwhile is kept)."""
    values = {
        "status": MembershipStatus.VERIFIED,
        "expires_on": row.expires_on,
        "verified_by_id": actor.id,
        "verified_at": utcnow(),
        "verification_note": f"Matched roster line {row.line}",
        "verification_source": VerificationSource.ROSTER,
    }
    if candidate.member_number is None:  # a new membership ("will join"): its number comes from the roster
        values["member_number"] = row.member_number
    still_open = (
        sa.select(Application.id)
        .where(Application.id == MembershipDeclaration.application_id, Application.status.in_(ACTIVE))
        .exists()
    )
    result = db.session.execute(
        sa.update(MembershipDeclaration)
        .where(
            MembershipDeclaration.id == candidate.id,
            MembershipDeclaration.declared_at == candidate.declared_at,
            MembershipDeclaration.status != MembershipStatus.REJECTED,
            still_open,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def import_roster(*, rows: list[RosterRow], actor: User, today: date) -> ImportReport:
    """Verify each declared membership that a roster row confirms; report the rest."""
    by_number: dict[str, list[_Candidate]] = {}
    by_email: dict[str, list[_Candidate]] = {}
    for candidate in _candidates():
        if candidate.member_number:
            by_number.setdefault(candidate.member_number.casefold(), []).append(candidate)
        elif candidate.kind is MembershipKind.WILL_JOIN:
            by_email.setdefault(candidate.email, []).append(candidate)
    report = ImportReport()
    for row in rows:
        matches = [(c, True) for c in by_number.get(row.member_number.casefold(), [])]
        matches += [(c, False) for c in by_email.get(row.email, [])]
        if not matches:
            report.unmatched.append(row.line)
            continue
        for candidate, by_number_match in matches:
            why = _conflict(row, candidate, by_number=by_number_match, today=today)
            if why is None and not _verify(candidate, row, actor):
                why = f"{candidate.name}'s membership changed while the roster was imported; it was left as it is"
            if why is not None:
                report.conflicts.append(Conflict(row.line, why, candidate.application_id))
                continue
            application = db.session.get(Application, candidate.application_id)
            record(AuditAction.MEMBERSHIP_VERIFIED, obj=application, actor=actor, source="roster", line=row.line)
            report.matched.append((row.line, candidate.name))
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the app itself, the signal's sender
    roster_imported.send(app, rows=rows, actor=actor, today=today, report=report)
    record(
        AuditAction.MEMBERSHIP_ROSTER_IMPORTED,
        obj=actor,
        actor=actor,
        rows=len(rows),
        matched=len(report.matched),
        unmatched=len(report.unmatched),
        conflicts=len(report.conflicts),
    )
    return report
