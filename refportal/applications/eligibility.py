"""Each requirement of the application's category as met, not met, or not recorded yet."""

from __future__ import annotations

from dataclasses import dataclass

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
            None
            if recorded is None
            else (
                recorded.education_level.rank >= minimum.rank
                or (bool(alternative_years) and recorded.work_years >= alternative_years)
            ),
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
