"""Each requirement of the application's category as met, not met, or not recorded yet."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from refportal.applications.categories import EducationLevel, MentorTrack
from refportal.applications.models import Application


@dataclass(frozen=True)
class RequirementCheck:
    label: str
    required: str
    recorded: str
    met: bool | None  # None: not recorded yet


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


def evaluate_eligibility(application: Application, requirements: dict) -> list[RequirementCheck]:
    """Compare what the applicant recorded with the category's configured thresholds."""
    rule = requirements[application.category]
    recorded = application.recorded_eligibility
    checks = []

    minimum = EducationLevel(rule["education"])
    alternative_years = rule.get("alternative_work_years")
    required = f"{minimum.label} or higher"
    if alternative_years:
        required += f", or {alternative_years} years of related work"
    checks.append(
        RequirementCheck(
            "Education",
            required,
            f"{recorded.education_level.label}; {recorded.work_years:g} years of related work" if recorded else "—",
            None if recorded is None else _education_met(rule, recorded.education_level, recorded.work_years),
        )
    )

    for label, key in (
        ("In-service training", "training_hours"),
        ("Reflective supervision/consultation received", "rsc_hours"),
    ):
        needed = _hours_required(rule[key], application.mentor_track)
        value = getattr(recorded, key) if recorded else None
        checks.append(
            RequirementCheck(
                label,
                f"at least {needed} hours" if needed else "none required",
                f"{value} hours" if value is not None else "—",
                (value >= needed) if value is not None else None,
            )
        )
    return checks


def is_eligible(checks: list[RequirementCheck]) -> bool:
    return all(check.met for check in checks)


def eligible_clause(requirements: dict) -> sa.ColumnElement[bool]:
    """`is_eligible(evaluate_eligibility(application, requirements))` in SQL, for the queue: the same
    thresholds, read by the same functions (`_education_met`, `_hours_required`)."""
    tracks: list[MentorTrack | None] = [None, *MentorTrack]
    per_category = []
    for category, rule in requirements.items():
        education = [
            Application.education_level.in_([lvl for lvl in EducationLevel if _education_met(rule, lvl, None)])
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
        Application.education_level.is_not(None),
        Application.work_years.is_not(None),
        Application.training_hours.is_not(None),
        Application.rsc_hours.is_not(None),
        sa.or_(*per_category),
    )
