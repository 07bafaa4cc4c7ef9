"""What a year's renewal needs, checked against its entries, membership and attestations: one list of
requirements, each met or not, shown to the endorsee before they submit and to staff beside the entries.
A renewal that fails any of them cannot be submitted.

The rules (settings, per category; domain.md "After the decision"): the year's relationship-based training
hours, of which some on reflective supervision/consultation for an endorsee who provides RSC and some on
diversity, equity and inclusion where the association asks; RSC hours received by category and mentor track
(fewer for a mentor endorsed long enough); a membership current on the first day of the next period; each
configured attestation signed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from refportal.applications.categories import MentorTrack
from refportal.applications.eligibility import RequirementCheck
from refportal.config import RENEWAL_ATTESTATIONS
from refportal.endorsements.models import Endorsement, Renewal
from refportal.membership.models import MembershipStatus
from refportal.portfolio.entries import PortfolioTotals


@dataclass(frozen=True)
class RenewalRules:
    """The settings a renewal is checked against."""

    by_category: Mapping[int, Mapping[str, Any]]
    rsc_provider_training_hours: int
    dei_hours: int
    attestations: tuple[str, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RenewalRules:
        return cls(
            by_category=config["ENDORSEMENT_RENEWAL_REQUIREMENTS"],
            rsc_provider_training_hours=config["ENDORSEMENT_RENEWAL_RSC_PROVIDER_TRAINING_HOURS"],
            dei_hours=config["ENDORSEMENT_RENEWAL_DEI_HOURS"],
            attestations=tuple(config["ENDORSEMENT_RENEWAL_ATTESTATIONS"]),
        )


def _by_track(value: int | Mapping[str, int], track: MentorTrack | None) -> int:
    if isinstance(value, Mapping):
        return int(value.get(track.value if track else "clinical", 0))
    return int(value)


def years_endorsed(endorsement: Endorsement, on: date) -> int:
    """Whole years since the endorsement was issued."""
    years = on.year - endorsement.issued_on.year
    if (on.month, on.day) < (endorsement.issued_on.month, endorsement.issued_on.day):
        years -= 1
    return years


def rsc_hours_required(endorsement: Endorsement, rules: RenewalRules) -> int:
    rule = rules.by_category[endorsement.category]
    track = endorsement.mentor_track
    senior_after = rule.get("senior_after_years")
    next_period_starts = endorsement.period_ends_on + timedelta(days=1)
    if (
        senior_after
        and "senior_rsc_hours" in rule
        and years_endorsed(endorsement, next_period_starts) >= int(senior_after)
    ):
        return _by_track(rule["senior_rsc_hours"], track)
    return _by_track(rule.get("rsc_hours", 0), track)


def _hours(value: Decimal) -> str:
    return f"{value.normalize():f}" if value else "0"


def _hours_check(label: str, required: int, recorded: Decimal) -> RequirementCheck:
    return RequirementCheck(label, f"at least {required} hours", f"{_hours(recorded)} hours", recorded >= required)


def renewal_checks(renewal: Renewal, totals: PortfolioTotals, rules: RenewalRules) -> list[RequirementCheck]:
    """Each requirement of the renewal, met or not (never "not recorded": an empty renewal fails them)."""
    endorsement = renewal.endorsement
    rule = rules.by_category[endorsement.category]
    checks = [_hours_check("Relationship-based training this year", int(rule["training_hours"]), totals.training_hours)]
    if renewal.provides_rsc and rules.rsc_provider_training_hours:
        checks.append(
            _hours_check(
                "Training on reflective supervision/consultation (you provide RSC)",
                rules.rsc_provider_training_hours,
                totals.rsc_training_hours,
            )
        )
    if rules.dei_hours:
        checks.append(
            _hours_check("Training on diversity, equity and inclusion", rules.dei_hours, totals.dei_training_hours)
        )
    rsc_required = rsc_hours_required(endorsement, rules)
    if rsc_required:
        checks.append(
            _hours_check("Reflective supervision/consultation received", rsc_required, totals.rsc_received_hours)
        )
    checks.append(membership_check(renewal))
    for key in rules.attestations:
        signed = key in (renewal.attestations or [])
        checks.append(
            RequirementCheck("Attestation", RENEWAL_ATTESTATIONS[key], "signed" if signed else "not signed", signed)
        )
    return checks


def membership_check(renewal: Renewal) -> RequirementCheck:
    """A membership declared (or verified), not rejected, and current on the first day of the next period."""
    next_period_starts = renewal.period_ends_on + timedelta(days=1)
    required = f"current on {next_period_starts:%d %B %Y}"
    if renewal.association is None or renewal.membership_expires_on is None:
        return RequirementCheck("Association membership", required, "not declared", False)
    recorded = f"{renewal.association_label}, until {renewal.membership_expires_on:%d %B %Y}"
    if renewal.membership_status is MembershipStatus.REJECTED:
        return RequirementCheck("Association membership", required, recorded + " (not confirmed by staff)", False)
    if renewal.membership_status is MembershipStatus.VERIFIED:
        recorded += " (verified)"
    return RequirementCheck(
        "Association membership", required, recorded, renewal.membership_expires_on >= next_period_starts
    )


def all_met(checks: list[RequirementCheck]) -> bool:
    return all(check.met for check in checks)
