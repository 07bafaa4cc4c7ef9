"""The association's member roster (CSV): parse it whole, then verify the declarations it matches."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.applications.models import Application
from refportal.audit.services import record
from refportal.db import utcnow
from refportal.extensions import db
from refportal.forms import normalize_email
from refportal.membership.models import MembershipDeclaration, MembershipKind, MembershipStatus, VerificationSource

COLUMNS = ("member_number", "email", "name", "expires_on")
MAX_ROWS = 50_000


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


@dataclass
class ImportReport:
    matched: list[tuple[int, str]] = field(default_factory=list)  # (line, applicant)
    unmatched: list[int] = field(default_factory=list)  # lines matching no declaration
    conflicts: list[tuple[int, str]] = field(default_factory=list)  # (line, why)


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def parse_roster(text: str) -> list[RosterRow]:
    """Every row, or RosterInvalid with the line of each fault."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if tuple(header) != COLUMNS:
        raise RosterInvalid([(1, f"the first line must name the columns {', '.join(COLUMNS)}")])
    rows, problems = [], []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(COLUMNS):
            problems.append((line, f"expected {len(COLUMNS)} values, found {len(cells)}"))
            continue
        number, email, name, expires = (c.strip() for c in cells)
        if not number or len(number) > 40:
            problems.append((line, "the member number is missing or longer than 40 characters"))
        try:
            email = normalize_email(email)
        except ValueError:
            problems.append((line, f"“{email[:60]}” is not an e-mail address"))
        if not name or len(name) > 120:
            problems.append((line, "the name is missing or longer than 120 characters"))
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
    return rows


def import_roster(*, rows: list[RosterRow], actor: User, today: date) -> ImportReport:
    """Verify each declared membership that a roster row confirms (member number with e-mail or name)."""
    declarations = db.session.execute(
        sa.select(MembershipDeclaration, User)
        .join(Application, MembershipDeclaration.application_id == Application.id)
        .join(User, Application.applicant_id == User.id)
        .where(MembershipDeclaration.kind == MembershipKind.CURRENT_MEMBER)
    ).all()
    by_number: dict[str, list[tuple[MembershipDeclaration, User]]] = {}
    for declaration, user in declarations:
        by_number.setdefault((declaration.member_number or "").casefold(), []).append((declaration, user))
    report = ImportReport()
    for row in rows:
        candidates = by_number.get(row.member_number.casefold(), [])
        if not candidates:
            report.unmatched.append(row.line)
            continue
        for declaration, user in candidates:
            if row.email != user.email and not _same_name(row.name, user.name):
                report.conflicts.append(
                    (
                        row.line,
                        f"member number {row.member_number} is declared by {user.name} "
                        f"({user.email}), but the roster names {row.name} ({row.email})",
                    )
                )
            elif row.expires_on < today:
                report.conflicts.append(
                    (row.line, f"the roster says {user.name}'s membership expired on {row.expires_on:%d %B %Y}")
                )
            else:
                declaration.status = MembershipStatus.VERIFIED
                declaration.expires_on = row.expires_on
                declaration.verified_by_id = actor.id
                declaration.verified_at = utcnow()
                declaration.verification_note = f"Matched roster line {row.line}"
                declaration.verification_source = VerificationSource.ROSTER
                record("membership.verified", obj=declaration.application, actor=actor, source="roster", line=row.line)
                report.matched.append((row.line, user.name))
    record(
        "membership.roster_imported",
        obj=actor,
        actor=actor,
        rows=len(rows),
        matched=len(report.matched),
        unmatched=len(report.unmatched),
        conflicts=len(report.conflicts),
    )
    return report
