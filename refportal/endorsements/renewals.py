"""The endorsee's side of a year's renewal (docs/registry.md, "Renewal"): starting the renewal of the
current period once its window is open, declaring the membership, recording the year's training and RSC
as entries dated in the period, signing the attestations, and submitting it to staff once every
requirement (renewal_rules.py) is met.

Every change the endorsee makes is one conditional UPDATE of the renewal: it still editable (a draft, or
sent back for more) and still at the version the page showed. The UPDATE raises the version, so a change
made from an older page (another tab) is refused instead of overwriting what the endorsee saw nothing of.
Only the endorsement's holder may change their renewal."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value

from refportal.accounts.models import User
from refportal.applications.eligibility import RequirementCheck
from refportal.applications.fees import FeeBreakdown, FeeLine, fee_currency
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import rows_changed, utc_today, utcnow
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.endorsements.models import Endorsement, Renewal, RenewalStatus
from refportal.endorsements.renewal_notices import cycle_dates
from refportal.endorsements.renewal_rules import RenewalRules, all_met, renewal_checks
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.mail.services import external_url, queue_email
from refportal.membership.models import Association, MembershipStatus
from refportal.payments import ledger
from refportal.payments.charges import find_account, open_account, set_owed
from refportal.payments.models import FeeAccount, FeeKind
from refportal.portfolio import entries
from refportal.portfolio.entries import DateWindow, PortfolioTotals, totals_of
from refportal.portfolio.models import Portfolio, RscEntry, RscFormat, TrainingEntry

S = EndorsementStatus
EDITABLE = (RenewalStatus.DRAFT, RenewalStatus.MORE_REQUESTED)
# A membership said to run longer than this is a typing mistake (memberships are yearly or a few years).
MEMBERSHIP_YEARS_AHEAD = 10
ENTRY_KINDS: dict[str, type[TrainingEntry] | type[RscEntry]] = {"training": TrainingEntry, "rsc": RscEntry}


class RenewalRefused(Refused):
    """The renewal cannot be started or changed as asked; nothing was changed."""


class StaleRenewal(RenewalRefused):
    """The renewal changed (in another tab or window) since the page was opened."""

    def __init__(self) -> None:
        super().__init__(
            "Your renewal was changed in another tab or window since this page was opened, so nothing was "
            "changed here. The page now shows it as it is: check it, then do this again if it is still needed."
        )


# ------------------------------------------------------------------------------------------------
# When a renewal may be started


def renewal_window(endorsement: Endorsement, today: date | None = None) -> DateWindow:
    """The days a renewal's entries may be dated on: the period being renewed, up to today."""
    today = today or utc_today()
    return DateWindow(endorsement.period_starts_on, min(today, endorsement.period_ends_on))


def renewal_refusal(endorsement: Endorsement, today: date | None = None) -> str | None:
    """Why the endorsee cannot renew this endorsement now, or None when its renewal window is open (due for
    renewal, or in grace; also an active one whose window opened before the annual job moved it on)."""
    today = today or utc_today()
    status = endorsement.status
    dates = cycle_dates(endorsement)
    if status in (S.RENEWAL_DUE, S.GRACE):
        return None
    if status is S.ACTIVE:
        if today < dates.window_opens_on:
            return (
                f"Your renewal opens on {dates.window_opens_on:%d %B %Y}: your endorsement is in force until "
                f"{endorsement.period_ends_on:%d %B %Y}."
            )
        if today <= dates.grace_ends_on:
            return None
    if status is S.RELINQUISHED:
        return "You relinquished this endorsement: there is nothing to renew."
    if status is S.REVOKED:
        return "This endorsement was revoked: it cannot be renewed."
    return (
        f"Your endorsement {endorsement.number} has lapsed, so it can no longer be renewed. To reinstate it, "
        "open a new application for the same credential and category."
    )


def can_start_renewal(endorsement: Endorsement, today: date | None = None) -> bool:
    """Whether the endorsee may start (or go on with) the renewal of the current period."""
    return renewal_refusal(endorsement, today) is None


def current_renewal(endorsement: Endorsement) -> Renewal | None:
    """The renewal of the endorsement's current period, if one was started."""
    return db.session.scalar(
        sa.select(Renewal).where(
            Renewal.endorsement_id == endorsement.id, Renewal.period_ends_on == endorsement.period_ends_on
        )
    )


def latest_renewal(endorsement: Endorsement) -> Renewal | None:
    """The endorsement's newest renewal, of whichever period."""
    return db.session.scalar(
        sa.select(Renewal).where(Renewal.endorsement_id == endorsement.id).order_by(Renewal.period_ends_on.desc())
    )


def renewed_until(endorsement: Endorsement) -> date | None:
    """The end of the new period when the endorsement's last renewal was approved (and none is started for
    the period it gave), else None."""
    latest = latest_renewal(endorsement)
    if (
        latest is not None
        and latest.status is RenewalStatus.APPROVED
        and latest.period_ends_on < endorsement.period_ends_on
    ):
        return endorsement.period_ends_on
    return None


def _check_holder(endorsement: Endorsement, actor: User) -> None:
    if actor is None or actor.id != endorsement.holder_id:
        raise RenewalRefused("Only the endorsee may renew their endorsement.")


def start_renewal(endorsement: Endorsement, actor: User, today: date | None = None) -> Renewal:
    """The renewal of the current period: the one already started, or a new draft with an empty portfolio.
    Two requests at once (two tabs) start one: the unique (endorsement, period) keeps the first, and the
    second finds it."""
    _check_holder(endorsement, actor)
    existing = current_renewal(endorsement)
    if existing is not None:
        return existing
    problem = renewal_refusal(endorsement, today)
    if problem is not None:
        raise RenewalRefused(problem)
    portfolio = Portfolio()
    db.session.add(portfolio)
    db.session.flush()
    now = utcnow()
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast("sa.Table", Renewal.__table__)
    result = db.session.execute(
        insert(table)
        .values(
            endorsement_id=endorsement.id,
            period_ends_on=endorsement.period_ends_on,
            portfolio_id=portfolio.id,
            status=RenewalStatus.DRAFT,
            version=1,
            provides_rsc=False,
            membership_status=MembershipStatus.DECLARED,
            attestations=[],
            late=False,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["endorsement_id", "period_ends_on"])
        .returning(table.c.id)
    )
    started = result.scalar_one_or_none() is not None  # None: the conflict, nothing inserted
    if not started:  # another request started it first (and has committed: its row is read here)
        db.session.delete(portfolio)
        db.session.flush()
    renewal = current_renewal(endorsement)
    assert renewal is not None
    if started:
        record(
            AuditAction.RENEWAL_STARTED,
            obj=renewal,
            actor=actor,
            number=endorsement.number,
            period_ends_on=endorsement.period_ends_on.isoformat(),
        )
        renewal_account(renewal, actor=actor)  # its fees owed from the start
    return renewal


# ------------------------------------------------------------------------------------------------
# Changes by the endorsee


def _not_editable(renewal: Renewal) -> RenewalRefused:
    if renewal.status is RenewalStatus.SUBMITTED:
        return RenewalRefused("Your renewal is submitted and waiting for staff: it can no longer be changed.")
    if renewal.status is RenewalStatus.APPROVED:
        return RenewalRefused("Your renewal was approved: there is nothing more to change.")
    return RenewalRefused("Your renewal was refused: it can no longer be changed.")


def _check_editable(renewal: Renewal, actor: User, today: date | None, version: int | None) -> None:
    """The holder's renewal, still editable, its endorsement still renewable, and the page not stale."""
    _check_holder(renewal.endorsement, actor)
    if not renewal.is_editable:
        raise _not_editable(renewal)
    problem = renewal_refusal(renewal.endorsement, today)
    if problem is not None:
        raise RenewalRefused(problem)
    if version != renewal.version:
        raise StaleRenewal()


def _claim(renewal: Renewal, version: int | None, **values: Any) -> None:
    """Apply `values` (and raise the version) only if the renewal is still editable and still at `version`:
    one statement, so a change from another tab in between is never overwritten."""
    if version is None or version != renewal.version:
        raise StaleRenewal()
    new_version = renewal.version + 1
    changed = rows_changed(
        db.session,
        sa.update(Renewal)
        .where(Renewal.id == renewal.id, Renewal.version == version, Renewal.status.in_(EDITABLE))
        .values(version=new_version, updated_at=utcnow(), **values),
    )
    if changed != 1:
        db.session.refresh(renewal)
        if not renewal.is_editable:
            raise _not_editable(renewal)
        raise StaleRenewal()
    for name, value in {"version": new_version, **values}.items():
        set_committed_value(renewal, name, value)


def _clean_line(value: str | None, what: str, limit: int, *, required: bool = True) -> str | None:
    """One line of the endorsee's text: white space collapsed, control characters refused, bounded."""
    if any(unicodedata.category(ch) == "Cc" for ch in value or ""):
        raise RenewalRefused(f"Use a single line of text for the {what}, without control characters.")
    text = " ".join((value or "").split())
    if not text:
        if required:
            raise RenewalRefused(f"Enter the {what}.")
        return None
    if len(text) > limit:
        raise RenewalRefused(f"The {what} is too long (at most {limit} characters).")
    return text


def save_membership(
    *,
    renewal: Renewal,
    actor: User,
    version: int | None,
    association: Association | None,
    association_name: str | None,
    member_number: str | None,
    expires_on: date | None,
    today: date | None = None,
) -> Renewal:
    """The membership the endorsee holds for the next period (to be verified by staff again if changed)."""
    today = today or utc_today()
    _check_editable(renewal, actor, today, version)
    if association is None:
        raise RenewalRefused("Choose the association you are a member of.", field="association")
    name = None
    if association is Association.OTHER:
        name = _clean_line(association_name, "name of the association", 120)
    number = _clean_line(member_number, "member number", 40)
    if expires_on is None:
        raise RenewalRefused("Enter the date your membership expires.", field="expires_on")
    if expires_on < today:
        raise RenewalRefused(
            f"This membership expired on {expires_on:%d %B %Y}. Renew your membership first, then enter its "
            "new expiry date.",
            field="expires_on",
        )
    if expires_on > today + timedelta(days=366 * MEMBERSHIP_YEARS_AHEAD):
        raise RenewalRefused(
            f"Check the expiry date: a membership running more than {MEMBERSHIP_YEARS_AHEAD} years is not expected.",
            field="expires_on",
        )
    values: dict[str, Any] = {
        "association": association,
        "association_name": name,
        "member_number": number,
        "membership_expires_on": expires_on,
    }
    if any(getattr(renewal, key) != value for key, value in values.items()) or (
        renewal.membership_status is not MembershipStatus.DECLARED
    ):
        # A changed declaration is verified again.
        values.update(
            membership_status=MembershipStatus.DECLARED,
            membership_verified_at=None,
            membership_verified_by_id=None,
            membership_verification_source=None,
            membership_note=None,
        )
    _claim(renewal, version, **values)
    record(AuditAction.RENEWAL_MEMBERSHIP_SAVED, obj=renewal, actor=actor, association=association.value)
    return renewal


def _hours(hours: Decimal | None) -> Decimal:
    if hours is None or not hours.is_finite():
        raise RenewalRefused("Enter the hours as a number.", field="hours")
    problem = entries.hours_problem(hours)
    if problem is not None:
        raise RenewalRefused(problem, field="hours")
    return hours


def add_training(
    *,
    renewal: Renewal,
    actor: User,
    version: int | None,
    title: str,
    provider: str,
    taken_on: date | None,
    hours: Decimal | None,
    about_rsc: bool = False,
    about_dei: bool = False,
    today: date | None = None,
) -> TrainingEntry:
    """One training of the year, dated in the period being renewed (up to today)."""
    today = today or utc_today()
    _check_editable(renewal, actor, today, version)
    if taken_on is None:
        raise RenewalRefused("Enter the date of the training.", field="taken_on")
    entry = entries.add_training(
        renewal.portfolio,
        window=renewal_window(renewal.endorsement, today),
        title=_clean_line(title, "title", 200) or "",
        provider=_clean_line(provider, "provider", 200) or "",
        taken_on=taken_on,
        hours=_hours(hours),
        about_rsc=bool(about_rsc),
        about_dei=bool(about_dei),
    )
    _claim(renewal, version)
    record(AuditAction.RENEWAL_ENTRY_ADDED, obj=renewal, actor=actor, kind="training", entry=entry.id)
    return entry


def add_rsc(
    *,
    renewal: Renewal,
    actor: User,
    version: int | None,
    provider: str,
    provider_credential: str | None,
    starts_on: date | None,
    ends_on: date | None,
    hours: Decimal | None,
    format: RscFormat | None,
    today: date | None = None,
) -> RscEntry:
    """Reflective supervision/consultation received over dates in the period being renewed (up to today)."""
    today = today or utc_today()
    _check_editable(renewal, actor, today, version)
    if starts_on is None or ends_on is None:
        raise RenewalRefused("Enter the first and last dates.", field="starts_on")
    if format is None:
        raise RenewalRefused("Choose individual or group.", field="format")
    entry = entries.add_rsc(
        renewal.portfolio,
        window=renewal_window(renewal.endorsement, today),
        provider=_clean_line(provider, "provider's name", 200) or "",
        provider_credential=_clean_line(provider_credential, "provider's credential", 120, required=False),
        starts_on=starts_on,
        ends_on=ends_on,
        hours=_hours(hours),
        format=format,
    )
    _claim(renewal, version)
    record(AuditAction.RENEWAL_ENTRY_ADDED, obj=renewal, actor=actor, kind="rsc", entry=entry.id)
    return entry


def remove_entry(
    *, renewal: Renewal, actor: User, version: int | None, kind: str, entry_id: int | None, today: date | None = None
) -> None:
    """Remove one of the renewal's own entries (another portfolio's, or one already removed, is refused)."""
    _check_editable(renewal, actor, today, version)
    model = ENTRY_KINDS.get(kind)
    if model is None or entry_id is None or not entries.remove_entry(renewal.portfolio, model, entry_id):
        raise RenewalRefused("Your renewal has no such entry (it may have been removed already).")
    _claim(renewal, version)
    record(AuditAction.RENEWAL_ENTRY_REMOVED, obj=renewal, actor=actor, kind=kind, entry=entry_id)


def configured_attestations() -> tuple[str, ...]:
    return tuple(current_app.config["ENDORSEMENT_RENEWAL_ATTESTATIONS"])


def save_declarations(
    *,
    renewal: Renewal,
    actor: User,
    version: int | None,
    provides_rsc: bool,
    attestations: list[str],
    today: date | None = None,
) -> Renewal:
    """Whether the endorsee provides RSC to others, and the attestations they sign (only the configured
    ones; unticking one withdraws its signature)."""
    _check_editable(renewal, actor, today, version)
    configured = configured_attestations()
    unknown = [key for key in attestations if key not in configured]
    if unknown:
        raise RenewalRefused("Only the attestations shown on the page can be signed.", field="attestations")
    signed = [key for key in configured if key in attestations]
    _claim(
        renewal,
        version,
        provides_rsc=bool(provides_rsc),
        attestations=signed,
        attested_at=utcnow() if signed else None,
    )
    record(
        AuditAction.RENEWAL_DECLARATIONS_SAVED,
        obj=renewal,
        actor=actor,
        provides_rsc=bool(provides_rsc),
        attestations=signed,
    )
    return renewal


# ------------------------------------------------------------------------------------------------
# The checklist, the fees, submitting


def rules() -> RenewalRules:
    return RenewalRules.from_config(current_app.config)


@dataclass(frozen=True)
class RenewalChecklist:
    totals: PortfolioTotals
    checks: list[RequirementCheck]

    @property
    def complete(self) -> bool:
        return all_met(self.checks)

    @property
    def missing(self) -> list[RequirementCheck]:
        return [check for check in self.checks if not check.met]


def checklist(renewal: Renewal) -> RenewalChecklist:
    """Each requirement of the renewal, met or not, from what is recorded now."""
    totals = totals_of(renewal.portfolio)
    return RenewalChecklist(totals=totals, checks=renewal_checks(renewal, totals, rules()))


def hours_text(value: Decimal | int) -> str:
    """Hours as people write them: 15, 14.75, 0.5."""
    value = Decimal(value)
    return f"{value.normalize():f}" if value else "0"


def is_late(renewal: Renewal, today: date | None = None) -> bool:
    """Whether the late fee is owed: submitted (or, not yet submitted, to be submitted) after the period."""
    if renewal.submitted_at is not None:
        return renewal.late
    return (today or utc_today()) > renewal.period_ends_on


def renewal_fees(renewal: Renewal, today: date | None = None) -> FeeBreakdown:
    config = current_app.config
    lines = [FeeLine("Renewal fee", int(config["ENDORSEMENT_RENEWAL_FEE"]))]
    if is_late(renewal, today):
        lines.append(FeeLine("Late fee (after the period ended)", int(config["ENDORSEMENT_RENEWAL_LATE_FEE"])))
    return FeeBreakdown(currency=fee_currency(), lines=tuple(lines))


def renewal_account(renewal: Renewal, today: date | None = None, actor: User | None = None) -> FeeAccount | None:
    """The renewal's fee account, its charges posted while the endorsee can still change it: the
    renewal fee, and the late fee once it is owed (is_late). Once submitted, what was posted stays."""
    if not renewal.is_editable:
        return find_account(renewal_id=renewal.id)
    config = current_app.config
    endorsement = renewal.endorsement
    account = open_account(
        payer_id=endorsement.holder_id,
        renewal_id=renewal.id,
        label=f"Renewal of {endorsement.number} (period ending {renewal.period_ends_on.isoformat()})",
        currency=fee_currency(),
    )
    set_owed(account, FeeKind.RENEWAL, ledger.cents(config["ENDORSEMENT_RENEWAL_FEE"]), actor=actor)
    late_fee = ledger.cents(config["ENDORSEMENT_RENEWAL_LATE_FEE"])
    set_owed(account, FeeKind.LATE, late_fee, owed=is_late(renewal, today), actor=actor)
    return account


def _missing_message(missing: list[RequirementCheck]) -> str:
    parts = [f"{check.label} ({check.required}; recorded: {check.recorded})" for check in missing]
    if any(check.label == "Attestation" for check in missing):
        unsigned = sum(1 for check in missing if check.label == "Attestation")
        parts = [p for p, check in zip(parts, missing, strict=True) if check.label != "Attestation"]
        parts.append(f"{unsigned} attestation(s) not signed")
    return "Your renewal cannot be submitted yet. Still missing: " + "; ".join(parts) + "."


def submit_renewal(*, renewal: Renewal, actor: User, version: int | None, today: date | None = None) -> Renewal:
    """Send the renewal to staff once every requirement is met. The late fee is owed when it is first
    submitted after the period ended; what the endorsee entered is kept as it is."""
    today = today or utc_today()
    _check_editable(renewal, actor, today, version)
    listed = checklist(renewal)
    if not listed.complete:
        raise RenewalRefused(_missing_message(listed.missing))
    account = renewal_account(renewal, today, actor)
    owed = ledger.totals_of(account).balance if account is not None else 0
    if owed > 0:
        raise RenewalRefused(
            f"The renewal's fees are not paid yet: {ledger.money(owed, fee_currency())} is still to pay. Pay it from "
            "the Fees section of this page (or ask the association how else to pay), then submit."
        )
    late = renewal.late if renewal.submitted_at is not None else today > renewal.period_ends_on
    resubmitted = renewal.status is RenewalStatus.MORE_REQUESTED
    _claim(renewal, version, status=RenewalStatus.SUBMITTED, submitted_at=utcnow(), late=late)
    fees = renewal_fees(renewal, today)
    endorsement = renewal.endorsement
    record(
        AuditAction.RENEWAL_SUBMITTED,
        obj=renewal,
        actor=actor,
        number=endorsement.number,
        late=late,
        resubmitted=resubmitted,
        fee=fees.total,
    )
    queue_email(
        "renewal_received",
        endorsement.holder.email,
        related=renewal,
        endorsee=endorsement.holder,
        endorsement=endorsement,
        renewal=renewal,
        totals=listed.totals,
        attestations=[check.required for check in listed.checks if check.label == "Attestation"],
        fees=fees,
        hours=hours_text,
        resubmitted=resubmitted,
        dates=cycle_dates(endorsement),
        link=external_url("renewal.page", endorsement_number=endorsement.number),
    )
    return renewal
