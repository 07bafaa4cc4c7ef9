"""Staff's side of a year's renewal: the queue of renewals, the checklist beside the entries, the
membership checked by hand or by the association's roster, and the decision (approve, ask for more,
refuse), each told to the endorsee by e-mail.

Every change is one conditional UPDATE on the renewal's status and version (the version the page was
drawn with): of two staff members deciding from two tabs, the second is refused and nothing of theirs is
kept. Approving locks the endorsement too (as the annual cycle job does), so the job and an approval
never both move it."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from refportal.accounts.models import User
from refportal.applications.categories import Credential
from refportal.applications.eligibility import RequirementCheck
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utc_today, utcnow
from refportal.endorsements.lifecycle import Event, transition
from refportal.endorsements.models import Endorsement, Renewal, RenewalStatus
from refportal.endorsements.renewal_rules import RenewalRules, renewal_checks
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.mail.services import external_url, queue_email
from refportal.membership.models import MembershipStatus, VerificationSource
from refportal.membership.roster import Conflict, ImportReport, RosterRow
from refportal.portfolio.entries import totals_of
from refportal.portfolio.models import Portfolio

R = RenewalStatus
# The renewals the roster and staff may still verify the membership of (not decided yet).
OPEN = (R.DRAFT, R.SUBMITTED, R.MORE_REQUESTED)
MAX_MESSAGE = 5000
MAX_NOTE = 500


class RenewalChanged(Refused):
    """The renewal is not as the page showed it (decided or changed meanwhile): nothing was changed."""


# ---------------------------------------------------------------------------------------------
# Reading


def load_renewal(renewal_id: int) -> Renewal | None:
    """The renewal with its endorsement, holder and entries."""
    return db.session.scalar(
        sa.select(Renewal)
        .where(Renewal.id == renewal_id)
        .options(
            joinedload(Renewal.endorsement).joinedload(Endorsement.holder),
            joinedload(Renewal.portfolio).selectinload(Portfolio.training),
            joinedload(Renewal.portfolio).selectinload(Portfolio.rsc),
        )
    )


def checklist(renewal: Renewal) -> list[RequirementCheck]:
    """Each requirement of the renewal, met or not, as the endorsee saw them before submitting."""
    return renewal_checks(renewal, totals_of(renewal.portfolio), RenewalRules.from_config(current_app.config))


def earlier_renewals(renewal: Renewal) -> list[Renewal]:
    """The endorsement's other renewals, the latest period first."""
    return list(
        db.session.scalars(
            sa.select(Renewal)
            .where(Renewal.endorsement_id == renewal.endorsement_id, Renewal.id != renewal.id)
            .order_by(Renewal.period_ends_on.desc())
        )
    )


def user_name(user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    return user.name if user is not None else None


# ---------------------------------------------------------------------------------------------
# The queue


@dataclass(frozen=True)
class RenewalFilters:
    status: str = ""  # a RenewalStatus value; "" is every renewal but the drafts
    credential: str = ""  # a Credential value
    late: str = ""  # "yes" | "no"


@dataclass(frozen=True)
class RenewalRow:
    renewal: Renewal
    met: int
    required: int
    unmet: list[str]


@dataclass(frozen=True)
class RenewalPage:
    rows: list[RenewalRow]
    number: int
    per_page: int
    total: int | None  # None: more than count_limit match
    count_limit: int
    has_next: bool

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // self.per_page))


# Those waiting for staff first, the oldest submission first (ix_endorsement_renewal_status).
ORDER = (
    sa.case((Renewal.status == R.SUBMITTED, 0), else_=1),
    Renewal.submitted_at.asc().nulls_last(),
    Renewal.id,
)


def _filtered(filters: RenewalFilters, *columns: Any) -> sa.Select[Any]:
    query = sa.select(*columns).select_from(Renewal)
    if filters.status:
        query = query.where(Renewal.status == RenewalStatus(filters.status))
    else:
        query = query.where(Renewal.status != R.DRAFT)  # a draft is the endorsee's until submitted
    if filters.credential:
        query = query.join(Endorsement, Renewal.endorsement_id == Endorsement.id).where(
            Endorsement.credential == Credential(filters.credential)
        )
    if filters.late:
        query = query.where(Renewal.late.is_(filters.late == "yes"))
    return query


def queue_page(filters: RenewalFilters, *, page: int, per_page: int, count_limit: int) -> RenewalPage:
    """One page of the filtered renewals (counted exactly up to count_limit), each with its checklist."""
    limited = _filtered(filters, Renewal.id).limit(count_limit + 1).subquery()
    matching = db.session.scalar(sa.select(sa.func.count()).select_from(limited)) or 0
    renewals = list(
        db.session.scalars(
            _filtered(filters, Renewal)
            .options(
                joinedload(Renewal.endorsement).joinedload(Endorsement.holder),
                joinedload(Renewal.portfolio).selectinload(Portfolio.training),
                joinedload(Renewal.portfolio).selectinload(Portfolio.rsc),
            )
            .order_by(*ORDER)
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        ).unique()
    )
    rows = []
    for renewal in renewals[:per_page]:
        checks = checklist(renewal)
        unmet = [check.label for check in checks if not check.met]
        rows.append(RenewalRow(renewal, len(checks) - len(unmet), len(checks), unmet))
    return RenewalPage(
        rows=rows,
        number=page,
        per_page=per_page,
        total=matching if matching <= count_limit else None,
        count_limit=count_limit,
        has_next=len(renewals) > per_page,
    )


# ---------------------------------------------------------------------------------------------
# Decisions


def _text(
    value: str | None, *, what: str, limit: int, required: bool, lines: bool, field: str = "message"
) -> str | None:
    """The staff member's text, trimmed; refused when missing (if required), too long or with control
    characters (line breaks and tabs are kept in a message)."""
    text = (value or "").strip()
    if not text:
        if required:
            raise Refused(f"Write the {what}: the endorsee will read it.", field=field)
        return None
    if len(text) > limit:
        raise Refused(f"The {what} is too long (at most {limit:,} characters).", field=field)
    allowed = "\r\n\t" if lines else ""
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text):
        raise Refused(f"Remove the control characters from the {what}.", field=field)
    return text


def _stale(renewal: Renewal) -> RenewalChanged:
    db.session.refresh(renewal)
    if renewal.status in OPEN:
        now = f"it is now {renewal.status.label.lower()}"
    else:
        who = user_name(renewal.decided_by_id)
        now = f"it was {renewal.status.label.lower()}" + (f" by {who}" if who else "")
    return RenewalChanged(
        f"This renewal changed after the page was opened ({now}); nothing was changed. It is shown as it is now."
    )


def _not_own(renewal: Renewal, actor: User) -> None:
    """No one decides or verifies their own renewal (an administrator may hold an endorsement too)."""
    if renewal.endorsement.holder_id == actor.id:
        raise Refused("This is your own renewal: another administrator decides it and checks its membership.")


def _update(renewal: Renewal, version: int, statuses: Iterable[RenewalStatus], **values: Any) -> None:
    """One conditional UPDATE: only from `statuses` and the version the page showed, raising the version."""
    result = db.session.execute(
        sa.update(Renewal)
        .where(Renewal.id == renewal.id, Renewal.status.in_(tuple(statuses)), Renewal.version == version)
        .values(version=Renewal.version + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _stale(renewal)
    db.session.refresh(renewal)


def add_months(day: date, months: int) -> date:
    """`months` after `day` (the month's last day when that month is shorter)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    last_day = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def next_period(endorsement: Endorsement) -> tuple[date, date]:
    """The period a renewal approved now starts: the day after the current one ends, for
    ENDORSEMENT_RENEWAL_MONTHS (the anniversary kept, also when approved in grace)."""
    ends_on = endorsement.period_ends_on
    return ends_on + timedelta(days=1), add_months(ends_on, current_app.config["ENDORSEMENT_RENEWAL_MONTHS"])


def _tell(renewal: Renewal, template: str, **context: Any) -> None:
    holder = renewal.endorsement.holder
    if holder.deactivated_at is not None:
        return
    queue_email(
        template,
        holder.email,
        related=renewal,
        endorsee=holder,
        endorsement=renewal.endorsement,
        renewal=renewal,
        link=external_url("renewal.page", endorsement_number=renewal.endorsement.number),
        **context,
    )


def approve_renewal(*, renewal: Renewal, version: int, actor: User) -> Endorsement:
    """A submitted renewal whose every requirement is met: the endorsement is renewed for its next period
    (lifecycle RENEW), the renewal approved, the endorsee told."""
    _not_own(renewal, actor)
    _update(renewal, version, (R.SUBMITTED,), status=R.APPROVED, decided_at=utcnow(), decided_by_id=actor.id)
    unmet = [check for check in checklist(renewal) if not check.met]
    if unmet:
        names = "; ".join(f"{check.label} ({check.required}: {check.recorded})" for check in unmet)
        raise Refused(f"This renewal cannot be approved while a requirement is not met: {names}.")
    endorsement = db.session.get(Endorsement, renewal.endorsement_id, with_for_update=True, populate_existing=True)
    assert endorsement is not None
    if renewal.period_ends_on != endorsement.period_ends_on:
        raise Refused(
            f"This renewal is for the period that ended on {renewal.period_ends_on:%d %B %Y}; the endorsement's "
            f"current period ends on {endorsement.period_ends_on:%d %B %Y}."
        )
    starts_on, ends_on = next_period(endorsement)
    before = transition(endorsement, Event.RENEW)
    endorsement.period_starts_on, endorsement.period_ends_on = starts_on, ends_on
    record(
        AuditAction.RENEWAL_APPROVED,
        obj=renewal,
        actor=actor,
        number=endorsement.number,
        before=before.value,
        period_starts_on=starts_on.isoformat(),
        period_ends_on=ends_on.isoformat(),
    )
    _tell(renewal, "renewal_approved", renewed_until=ends_on)
    return endorsement


def request_more(*, renewal: Renewal, version: int, actor: User, message: str | None) -> Renewal:
    """Send a submitted renewal back to the endorsee with what is needed; they may change it and submit again."""
    _not_own(renewal, actor)
    text = _text(message, what="message naming what is needed", limit=MAX_MESSAGE, required=True, lines=True)
    _update(renewal, version, (R.SUBMITTED,), status=R.MORE_REQUESTED, staff_message=text)
    record(AuditAction.RENEWAL_MORE_REQUESTED, obj=renewal, actor=actor, number=renewal.endorsement.number)
    _tell(renewal, "renewal_more_requested", message=text)
    return renewal


def refuse_renewal(*, renewal: Renewal, version: int, actor: User, reason: str | None) -> Renewal:
    """Refuse a submitted renewal with the reason. The endorsement is left to the annual cycle: it runs on
    through grace and lapses when the grace ends."""
    _not_own(renewal, actor)
    text = _text(reason, what="reason for the refusal", limit=MAX_MESSAGE, required=True, lines=True)
    _update(
        renewal,
        version,
        (R.SUBMITTED,),
        status=R.REFUSED,
        staff_message=text,
        decided_at=utcnow(),
        decided_by_id=actor.id,
    )
    record(AuditAction.RENEWAL_REFUSED, obj=renewal, actor=actor, number=renewal.endorsement.number)
    grace_ends_on = renewal.endorsement.period_ends_on + timedelta(days=current_app.config["ENDORSEMENT_GRACE_DAYS"])
    _tell(renewal, "renewal_refused", message=text, grace_ends_on=grace_ends_on, grace_over=grace_ends_on < utc_today())
    return renewal


def verify_renewal_membership(
    *, renewal: Renewal, version: int, actor: User, verified: bool, note: str | None
) -> Renewal:
    """Staff's check of the membership the renewal declares: verified or rejected (with the reason). A
    rejected membership is an unmet requirement. Not once the renewal is decided."""
    _not_own(renewal, actor)
    if renewal.status not in OPEN:
        raise RenewalChanged(
            f"This renewal is {renewal.status.label.lower()}: its membership can no longer be verified or rejected."
        )
    if renewal.association is None:
        raise Refused("The renewal declares no membership yet: there is nothing to verify.")
    text = _text(note, what="note", limit=MAX_NOTE, required=not verified, lines=False, field="note")
    _update(
        renewal,
        version,
        OPEN,
        membership_status=MembershipStatus.VERIFIED if verified else MembershipStatus.REJECTED,
        membership_verified_at=utcnow(),
        membership_verified_by_id=actor.id,
        membership_verification_source=VerificationSource.REVIEWER,
        membership_note=text,
    )
    record(
        AuditAction.RENEWAL_MEMBERSHIP_VERIFIED if verified else AuditAction.RENEWAL_MEMBERSHIP_REJECTED,
        obj=renewal,
        actor=actor,
        note=text,
    )
    return renewal


def waiting_for_staff(endorsement: Endorsement) -> bool:
    """A renewal of the endorsement's current period is submitted and not decided yet."""
    return (
        db.session.scalar(
            sa.select(Renewal.id).where(
                Renewal.endorsement_id == endorsement.id,
                Renewal.period_ends_on == endorsement.period_ends_on,
                Renewal.status == R.SUBMITTED,
            )
        )
        is not None
    )


# ---------------------------------------------------------------------------------------------
# The roster


@dataclass(frozen=True)
class _Candidate:
    """A renewal's membership as read at the start of the import."""

    id: int
    version: int
    member_number: str | None
    membership_status: MembershipStatus
    membership_verified_at: Any
    membership_note: str | None
    association_declared: bool
    number: str  # the endorsement's
    name: str
    email: str


def _roster_candidates() -> list[_Candidate]:
    rows = db.session.execute(
        sa.select(
            Renewal.id,
            Renewal.version,
            Renewal.member_number,
            Renewal.membership_status,
            Renewal.membership_verified_at,
            Renewal.membership_note,
            Renewal.association.is_not(None),
            Endorsement.number,
            User.name,
            User.email,
        )
        .join(Endorsement, Renewal.endorsement_id == Endorsement.id)
        .join(User, Endorsement.holder_id == User.id)
        .where(Renewal.status.in_(OPEN))
        .order_by(Renewal.id)
    ).all()
    return [_Candidate(*tuple[Any, ...](row)) for row in rows]


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _roster_conflict(row: RosterRow, candidate: _Candidate, *, by_number: bool, today: date) -> str | None:
    who = candidate.name
    if by_number and row.email.casefold() != candidate.email.casefold() and not _same_name(row.name, who):
        return (
            f"member number {row.member_number} is declared on the renewal of {candidate.number} by {who} "
            f"({candidate.email}), but the roster names {row.name} ({row.email})"
        )
    if candidate.membership_status is MembershipStatus.REJECTED:
        when = f" on {candidate.membership_verified_at:%d %B %Y}" if candidate.membership_verified_at else ""
        note = f" ({candidate.membership_note})" if candidate.membership_note else ""
        return (
            f"staff rejected the membership on {who}'s renewal of {candidate.number}{when}{note}; the roster does "
            "not overturn a rejection (staff may still verify it on the renewal)"
        )
    if row.expires_on < today:
        return (
            f"the roster says the membership on {who}'s renewal of {candidate.number} expired on "
            f"{row.expires_on:%d %B %Y}"
        )
    return None


def _roster_verify(candidate: _Candidate, row: RosterRow, actor: User) -> bool:
    """Verify unless the renewal changed since it was read (the version) or was decided meanwhile."""
    values: dict[str, Any] = {
        "membership_status": MembershipStatus.VERIFIED,
        "membership_expires_on": row.expires_on,
        "membership_verified_at": utcnow(),
        "membership_verified_by_id": actor.id,
        "membership_verification_source": VerificationSource.ROSTER,
        "membership_note": f"Matched roster line {row.line}",
        "version": Renewal.version + 1,
        "updated_at": utcnow(),
    }
    if not candidate.member_number:
        values["member_number"] = row.member_number
    result = db.session.execute(
        sa.update(Renewal)
        .where(
            Renewal.id == candidate.id,
            Renewal.version == candidate.version,
            Renewal.status.in_(OPEN),
            Renewal.membership_status != MembershipStatus.REJECTED,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def _renewal_path(renewal_id: int) -> str:
    return current_app.url_map.bind("refportal.invalid").build("renewal_review.renewal", {"renewal_id": renewal_id})


def verify_renewals_on_roster(
    sender: object, *, rows: list[RosterRow], actor: User, today: date, report: ImportReport
) -> None:
    """Subscribed to membership.roster.roster_imported (in create_app): the memberships declared on open
    renewals that a row confirms are verified (by member number, or by the holder's e-mail where the
    renewal has no number), with the refusals the applications' import keeps; the lines go in the report."""
    by_number: dict[str, list[_Candidate]] = {}
    by_email: dict[str, list[_Candidate]] = {}
    for candidate in _roster_candidates():
        if not candidate.association_declared:
            continue
        if candidate.member_number:
            by_number.setdefault(candidate.member_number.casefold(), []).append(candidate)
        else:
            by_email.setdefault(candidate.email.casefold(), []).append(candidate)
    unmatched = set(report.unmatched)
    for row in rows:
        matches = [(c, True) for c in by_number.get(row.member_number.casefold(), [])]
        matches += [(c, False) for c in by_email.get(row.email.casefold(), [])]
        if not matches:
            continue
        unmatched.discard(row.line)
        for candidate, by_number_match in matches:
            why = _roster_conflict(row, candidate, by_number=by_number_match, today=today)
            if why is None and not _roster_verify(candidate, row, actor):
                why = f"the renewal of {candidate.number} changed while the roster was imported; it was left as it is"
            if why is not None:
                link = (_renewal_path(candidate.id), f"renewal of {candidate.number}")
                report.conflicts.append(Conflict(row.line, why, link=link))
                continue
            renewal = db.session.get(Renewal, candidate.id)
            record(AuditAction.RENEWAL_MEMBERSHIP_VERIFIED, obj=renewal, actor=actor, source="roster", line=row.line)
            report.matched.append((row.line, f"{candidate.name} (renewal of {candidate.number})"))
    report.unmatched[:] = [line for line in report.unmatched if line in unmatched]
