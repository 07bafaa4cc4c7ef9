"""An application's eligibility evidence as entries (its portfolio: education, work, training, RSC received)
and the totals the requirements read from them.

The totals (docs/domain.md, "Eligibility from evidence entries"):
- education: the highest level among the education entries;
- years of related work: each work entry serving the credential's ages (children 0–3 for the IMH-E,
  3 up to 6 for the ECMH-E) counts its days (first and last included; an ongoing one up to the day
  evaluated) ÷ 365.25, weighted by its hours a week ÷ FULL_TIME_HOURS (at most 1: more than full time counts
  as full time). Overlapping entries add up, but never to more than the calendar time from the earliest of
  them to the day evaluated;
- training hours: every training entry's hours;
- RSC hours received: the hours of the RSC entries whose provider gave a credential (a qualified
  provider); the other entries are shown, and counted only where the category requires no RSC.

The day evaluated is today while the application is editable, and the day it was submitted after that
(its evidence no longer changes, nor do the years an ongoing job adds).

Adding and removing entries: only while the application is editable and its eligibility comes from entries;
the portfolio is created with the first entry. After each change the application's total columns are
stored again (`store_totals`): the queue's SQL filter reads them."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from refportal.accounts.models import User
from refportal.applications.categories import Credential, EducationLevel
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utc_today, utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.portfolio import entries
from refportal.portfolio.models import EducationEntry, Portfolio, RscEntry, RscFormat, TrainingEntry, WorkEntry

FULL_TIME_HOURS = 40
DAYS_PER_YEAR = Decimal("365.25")
ZERO = Decimal("0")

KINDS: dict[str, type[EducationEntry] | type[WorkEntry] | type[TrainingEntry] | type[RscEntry]] = {
    "education": EducationEntry,
    "work": WorkEntry,
    "training": TrainingEntry,
    "rsc": RscEntry,
}


@dataclass(frozen=True)
class Evidence:
    """An application's entries and the totals the requirements read, on the day `as_of`."""

    as_of: date
    education: list[EducationEntry] = field(default_factory=list)
    work: list[WorkEntry] = field(default_factory=list)
    training: list[TrainingEntry] = field(default_factory=list)
    rsc: list[RscEntry] = field(default_factory=list)
    highest_education: EducationLevel | None = None
    work_years: Decimal = ZERO  # exact; shown to one decimal
    counted_work: list[WorkEntry] = field(default_factory=list)  # the entries serving the credential's ages
    training_hours: Decimal = ZERO
    rsc_hours: Decimal = ZERO  # every RSC entry
    qualified_rsc_hours: Decimal = ZERO  # from providers who gave a credential

    @staticmethod
    def level_label(entry: EducationEntry) -> str:
        level = _level(entry)
        return level.label if level else entry.level

    @property
    def empty(self) -> bool:
        return not (self.education or self.work or self.training or self.rsc)


def evaluation_day(application: Application, today: date | None = None) -> date:
    """The day the evidence is evaluated on: today while the application is editable, else the day it
    was submitted."""
    if not application.is_editable and application.submitted_at is not None:
        return application.submitted_at.date()
    return today or utc_today()


def serves_credential(entry: WorkEntry, credential: Credential) -> bool:
    """Work with the ages the credential is about: 0–3 for the IMH-E, 3 up to 6 for the ECMH-E."""
    return entry.serves_0_3 if credential is Credential.IMH_E else entry.serves_3_6


def _level(entry: EducationEntry) -> EducationLevel | None:
    try:
        return EducationLevel(entry.level)
    except ValueError:  # a level this version does not know counts for nothing
        return None


def work_years(work: list[WorkEntry], as_of: date) -> Decimal:
    """Years of related work from these entries (the rule in the module's docstring)."""
    total = ZERO
    first = None
    for entry in work:
        last = min(entry.ends_on or as_of, as_of)
        if last < entry.starts_on:
            continue
        days = (last - entry.starts_on).days + 1
        share = Decimal(min(entry.hours_per_week, FULL_TIME_HOURS)) / Decimal(FULL_TIME_HOURS)
        total += Decimal(days) * share / DAYS_PER_YEAR
        first = entry.starts_on if first is None else min(first, entry.starts_on)
    if first is None:
        return ZERO
    return min(total, Decimal((as_of - first).days + 1) / DAYS_PER_YEAR)


@functools.cache
def _entry_statements() -> list[tuple[str, sa.Select]]:
    """Each list of entries of any number of portfolios (bound: portfolio_ids), in its relationship's order."""
    statements = []
    for kind, model in KINDS.items():
        order = Portfolio.__mapper__.relationships[kind].order_by or ()  # each list's (refportal.portfolio.models)
        statements.append(
            (
                kind,
                sa.select(model)
                .where(model.portfolio_id.in_(sa.bindparam("portfolio_ids", expanding=True)))
                .order_by(*order),
            )
        )
    return statements


def load_entries(applications: Iterable[Application]) -> None:
    """The evidence entries of the applications whose eligibility comes from entries, for a page that reads
    them: four statements whatever the number of applications, none lazily per portfolio (cheaper than
    lazy or selectin loading). Their portfolios come with them: joinedload(Application.portfolio)."""
    portfolios = {a.portfolio.id: a.portfolio for a in applications if a.from_entries and a.portfolio is not None}
    if not portfolios:
        return
    for kind, statement in _entry_statements():
        found: dict[int, list] = {portfolio_id: [] for portfolio_id in portfolios}
        for entry in db.session.scalars(statement, {"portfolio_ids": list(portfolios)}):
            found[entry.portfolio_id].append(entry)
        for portfolio_id, listed in found.items():
            set_committed_value(portfolios[portfolio_id], kind, listed)


def evidence_of(application: Application, today: date | None = None) -> Evidence:
    """The application's entries and their totals on its evaluation day."""
    as_of = evaluation_day(application, today)
    portfolio = application.portfolio
    if portfolio is None:
        return Evidence(as_of=as_of)
    levels = [level for level in map(_level, portfolio.education) if level is not None]
    counted = [w for w in portfolio.work if serves_credential(w, application.credential)]
    return Evidence(
        as_of=as_of,
        education=list(portfolio.education),
        work=list(portfolio.work),
        training=list(portfolio.training),
        rsc=list(portfolio.rsc),
        highest_education=max(levels, key=lambda level: level.rank) if levels else None,
        work_years=work_years(counted, as_of),
        counted_work=counted,
        training_hours=sum((e.hours for e in portfolio.training), ZERO),
        rsc_hours=sum((e.hours for e in portfolio.rsc), ZERO),
        qualified_rsc_hours=sum((e.hours for e in portfolio.rsc if is_qualified(e)), ZERO),
    )


def is_qualified(entry: RscEntry) -> bool:
    """RSC from a qualified provider: one who gave a credential (reviewers check it)."""
    return bool(entry.provider_credential)


def store_totals(application: Application, today: date | None = None) -> None:
    """Store the evidence's totals in the application's total columns, rounded down (to a tenth of a year,
    to whole hours: a threshold met by the stored total is met by the exact one, and the other way round),
    and where the applicant works now (the latest ongoing work entry) for reviewers' conflicts of interest."""
    if not application.from_entries:
        return
    evidence = evidence_of(application, today)
    application.education_level = evidence.highest_education
    application.work_years = min(evidence.work_years, Decimal("999.9")).quantize(Decimal("0.1"), ROUND_FLOOR)
    application.training_hours = int(evidence.training_hours.to_integral_value(ROUND_FLOOR))
    application.rsc_hours = int(evidence.qualified_rsc_hours.to_integral_value(ROUND_FLOOR))
    application.eligibility_recorded_at = None if evidence.empty else utcnow()
    ongoing = [w for w in evidence.work if w.ends_on is None]
    if ongoing:
        application.employer = max(ongoing, key=lambda w: (w.starts_on, w.id)).employer[:160]
    elif not evidence.empty:
        application.employer = None


# ---------------------------------------------------------------------------------------------
# Changing the evidence


def _portfolio_to_change(application: Application) -> Portfolio:
    if not application.is_editable:
        raise Refused("This application can no longer be changed.")
    if not application.from_entries:
        raise Refused(
            "This application's eligibility was recorded as totals before evidence entries; change it on its "
            "eligibility page."
        )
    if application.portfolio is None:
        application.portfolio = Portfolio()
        db.session.add(application.portfolio)
        db.session.flush()
    return application.portfolio


def _after_change(application: Application, actor: User, action: AuditAction, kind: str, entry_id: int) -> None:
    if application.portfolio is not None:
        db.session.expire(application.portfolio)
    store_totals(application)
    record(action, obj=application, actor=actor, kind=kind, entry=entry_id)


def add_education(
    *, application: Application, actor: User, level: str, field_of_study: str, institution: str, year_completed: int
) -> EducationEntry:
    try:
        EducationLevel(level)
    except ValueError:
        raise entries.EntryRefused("Choose the level of the degree or credential.", field="level") from None
    portfolio = _portfolio_to_change(application)
    entry = entries.add_education(
        portfolio,
        level=level,
        field_of_study=field_of_study,
        institution=institution,
        year_completed=year_completed,
        today=utc_today(),
    )
    _after_change(application, actor, AuditAction.APPLICATION_EVIDENCE_ADDED, "education", entry.id)
    return entry


def add_work(
    *,
    application: Application,
    actor: User,
    employer: str,
    role: str,
    starts_on: date,
    ends_on: date | None,
    hours_per_week: int,
    serves_0_3: bool,
    serves_3_6: bool,
    description: str | None,
) -> WorkEntry:
    portfolio = _portfolio_to_change(application)
    entry = entries.add_work(
        portfolio,
        employer=employer,
        role=role,
        starts_on=starts_on,
        ends_on=ends_on,
        hours_per_week=hours_per_week,
        serves_0_3=serves_0_3,
        serves_3_6=serves_3_6,
        description=description,
        today=utc_today(),
    )
    _after_change(application, actor, AuditAction.APPLICATION_EVIDENCE_ADDED, "work", entry.id)
    return entry


def add_training(
    *,
    application: Application,
    actor: User,
    title: str,
    provider: str,
    taken_on: date,
    hours: Decimal,
    about_rsc: bool = False,
    about_dei: bool = False,
) -> TrainingEntry:
    portfolio = _portfolio_to_change(application)
    entry = entries.add_training(
        portfolio,
        window=entries.history_window(utc_today()),
        title=title,
        provider=provider,
        taken_on=taken_on,
        hours=hours,
        about_rsc=about_rsc,
        about_dei=about_dei,
    )
    _after_change(application, actor, AuditAction.APPLICATION_EVIDENCE_ADDED, "training", entry.id)
    return entry


def add_rsc(
    *,
    application: Application,
    actor: User,
    provider: str,
    provider_credential: str | None,
    starts_on: date,
    ends_on: date,
    hours: Decimal,
    format: RscFormat,
) -> RscEntry:
    portfolio = _portfolio_to_change(application)
    entry = entries.add_rsc(
        portfolio,
        window=entries.history_window(utc_today()),
        provider=provider,
        provider_credential=provider_credential,
        starts_on=starts_on,
        ends_on=ends_on,
        hours=hours,
        format=format,
    )
    _after_change(application, actor, AuditAction.APPLICATION_EVIDENCE_ADDED, "rsc", entry.id)
    return entry


def remove(*, application: Application, actor: User, kind: str, entry_id: int) -> None:
    """Remove one of the application's own entries (another application's entry is refused: nothing changes)."""
    portfolio = _portfolio_to_change(application)
    entry_kind = KINDS.get(kind)
    if entry_kind is None or not entries.remove_entry(portfolio, entry_kind, entry_id):
        raise Refused("That entry is not in this application's evidence (it may have been removed already).")
    _after_change(application, actor, AuditAction.APPLICATION_EVIDENCE_REMOVED, kind, entry_id)
