"""Each requirement of the application's category as met, not met, or not recorded yet, from one of two
sources: the evidence entries (applications.evidence: every application opened since entries) or the totals
the applicant typed (applications opened before; their recorded text says "self-reported")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from refportal.applications.categories import Credential, EducationLevel, MentorTrack
from refportal.applications.evidence import Evidence, evidence_of
from refportal.applications.models import Application, EligibilitySource


@dataclass(frozen=True)
class RequirementCheck:
    label: str
    required: str
    recorded: str
    met: bool | None  # None: not recorded yet
    key: str = ""  # "education", "training" or "rsc": which entries are its evidence


def _hours_required(value: int | dict[str, int], track: MentorTrack | None) -> int:
    if isinstance(value, dict):
        return int(value.get(track.value if track else "clinical", 0))
    return int(value)


def _education_met(rule: dict, level: EducationLevel, work_years: Decimal | None) -> bool:
    """The category's education, or (where the category allows it) enough years of related work."""
    if level.rank >= EducationLevel(rule["education"]).rank:
        return True
    alternative_years = rule.get("alternative_work_years")
    if not alternative_years or work_years is None:
        return False
    return work_years >= alternative_years


def _education_required(rule: dict) -> str:
    required = f"{EducationLevel(rule['education']).label} or higher"
    if rule.get("alternative_work_years"):
        required += f", or {rule['alternative_work_years']} years of related work"
    return required


def evaluate_eligibility(
    application: Application, requirements: dict, *, today: date | None = None, evidence: Evidence | None = None
) -> list[RequirementCheck]:
    """Compare the application's evidence entries (or, for an application from before entries, the totals
    the applicant recorded) with the category's configured thresholds. `evidence`: the entries' totals when
    the caller has them already."""
    if application.eligibility_source is EligibilitySource.ENTRIES:
        return _from_entries(application, requirements, evidence or evidence_of(application, today))
    rule = requirements[application.category]
    recorded = application.recorded_eligibility
    checks = []

    checks.append(
        RequirementCheck(
            "Education",
            _education_required(rule),
            f"{recorded.education_level.label}; {recorded.work_years:g} years of related work (self-reported)"
            if recorded
            else "—",
            None if recorded is None else _education_met(rule, recorded.education_level, recorded.work_years),
            "education",
        )
    )

    for label, key, evidence_key in (
        ("In-service training", "training_hours", "training"),
        ("Reflective supervision/consultation received", "rsc_hours", "rsc"),
    ):
        needed = _hours_required(rule[key], application.mentor_track)
        value = getattr(recorded, key) if recorded else None
        checks.append(
            RequirementCheck(
                label,
                f"at least {needed} hours" if needed else "none required",
                f"{value} hours (self-reported)" if value is not None else "—",
                (value >= needed) if value is not None else None,
                evidence_key,
            )
        )
    return checks


def _education_met_from_entries(rule: dict, level: EducationLevel | None, work_years: Decimal) -> bool:
    if level is not None:
        return _education_met(rule, level, work_years)
    alternative_years = rule.get("alternative_work_years")
    return alternative_years is not None and alternative_years > 0 and work_years >= alternative_years


def _hours(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _from_entries(application: Application, requirements: dict, evidence: Evidence) -> list[RequirementCheck]:
    """The checks from the entries' totals (applications.evidence states how each is summed); a requirement
    with no evidence yet is not met (never "not recorded": the entries are what is recorded)."""
    rule = requirements[application.category]
    ages = "0–3" if application.credential is Credential.IMH_E else "3 up to 6"
    level = evidence.highest_education
    education = level.label if level else "No education entered"
    checks = [
        RequirementCheck(
            "Education",
            _education_required(rule),
            f"{education}; {evidence.work_years:.1f} years of related work with children {ages}",
            _education_met_from_entries(rule, level, evidence.work_years),
            "education",
        )
    ]
    training_needed = _hours_required(rule["training_hours"], application.mentor_track)
    checks.append(
        RequirementCheck(
            "In-service training",
            f"at least {training_needed} hours" if training_needed else "none required",
            f"{_hours(evidence.training_hours)} hours in {len(evidence.training)} "
            f"entr{'y' if len(evidence.training) == 1 else 'ies'}",
            evidence.training_hours >= training_needed,
            "training",
        )
    )
    rsc_needed = _hours_required(rule["rsc_hours"], application.mentor_track)
    if rsc_needed:
        recorded = f"{_hours(evidence.qualified_rsc_hours)} hours from providers with a credential"
        if evidence.rsc_hours != evidence.qualified_rsc_hours:
            recorded += f" ({_hours(evidence.rsc_hours)} hours in all)"
        checks.append(
            RequirementCheck(
                "Reflective supervision/consultation received",
                f"at least {rsc_needed} hours from a provider with a credential",
                recorded,
                evidence.qualified_rsc_hours >= rsc_needed,
                "rsc",
            )
        )
    else:
        checks.append(
            RequirementCheck(
                "Reflective supervision/consultation received",
                "none required",
                f"{_hours(evidence.rsc_hours)} hours",
                True,
                "rsc",
            )
        )
    return checks


def is_eligible(checks: list[RequirementCheck]) -> bool:
    return all(check.met for check in checks)


def eligible_clause(requirements: dict) -> sa.ColumnElement[bool]:
    """`is_eligible(evaluate_eligibility(application, requirements))` in SQL, for the queue: the same
    thresholds, read by the same functions (`_education_met`, `_hours_required`). An application whose
    eligibility comes from entries is read from the totals stored when its entries last changed
    (applications.evidence.store_totals); it may have no education entry and meet the education
    requirement by years of work."""
    tracks: list[MentorTrack | None] = [None, *MentorTrack]
    per_category = []
    for category, rule in requirements.items():
        education = [
            sa.and_(
                Application.education_level.is_not(None),
                Application.education_level.in_([lvl for lvl in EducationLevel if _education_met(rule, lvl, None)]),
            )
        ]
        if rule.get("alternative_work_years"):
            education.append(Application.work_years >= rule["alternative_work_years"])
        hours = [
            sa.or_(
                *(
                    sa.and_(
                        Application.mentor_track.is_(None) if track is None else Application.mentor_track == track,
                        column >= _hours_required(rule[key], track),
                    )
                    for track in tracks
                )
            )
            for key, column in (("training_hours", Application.training_hours), ("rsc_hours", Application.rsc_hours))
        ]
        per_category.append(sa.and_(Application.category == int(category), sa.or_(*education), *hours))
    return sa.and_(
        Application.eligibility_recorded_at.is_not(None),
        sa.or_(
            Application.eligibility_source == EligibilitySource.ENTRIES,
            Application.education_level.is_not(None),
        ),
        Application.work_years.is_not(None),
        Application.training_hours.is_not(None),
        Application.rsc_hours.is_not(None),
        sa.or_(*per_category),
    )
