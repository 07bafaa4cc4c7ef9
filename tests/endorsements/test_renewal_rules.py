"""What a year's renewal needs (renewal_rules.py with the default settings), at the edges: training
14.75 vs 15 hours in every category; RSC received 11.75 vs 12 for categories 2, 3 and 4 (clinical), none
for category 1 and 4 (policy, research); a mentor endorsed 3 years by the next period needs 10; the RSC
provider's 3 hours of training on RSC; DEI hours only when set; a membership expiring the day before the
next period vs on its first day; each configured attestation signed."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

import pytest

from refportal.applications.categories import Credential, MentorTrack
from refportal.config import RENEWAL_ATTESTATIONS
from refportal.endorsements.models import Endorsement, Renewal
from refportal.endorsements.renewal_rules import RenewalRules, all_met, renewal_checks, rsc_hours_required
from refportal.membership.models import Association, MembershipStatus
from refportal.portfolio.entries import PortfolioTotals

PERIOD_ENDS = date(2027, 1, 5)
NEXT_PERIOD = PERIOD_ENDS + timedelta(days=1)
DAY = timedelta(days=1)


@pytest.fixture
def rules(app) -> RenewalRules:
    return RenewalRules.from_config(app.config)


def renewal(
    category: int = 2,
    track: MentorTrack | None = None,
    *,
    issued_on: date = date(2026, 1, 5),
    provides_rsc: bool = False,
    expires_on: date | None = NEXT_PERIOD,
    status: MembershipStatus = MembershipStatus.DECLARED,
    attestations: tuple[str, ...] = tuple(RENEWAL_ATTESTATIONS),
) -> Renewal:
    """A renewal (not stored) of an endorsement whose period ends on PERIOD_ENDS."""
    endorsement = Endorsement(
        number="IMH-TEST0000",
        credential=Credential.IMH_E,
        category=category,
        mentor_track=track,
        issued_on=issued_on,
        period_starts_on=PERIOD_ENDS - timedelta(days=365),
        period_ends_on=PERIOD_ENDS,
    )
    return Renewal(
        endorsement=endorsement,
        period_ends_on=PERIOD_ENDS,
        provides_rsc=provides_rsc,
        association=Association.INFANCY_ONWARD if expires_on else None,
        member_number="M-1" if expires_on else None,
        membership_expires_on=expires_on,
        membership_status=status,
        attestations=list(attestations),
    )


def totals(training="15", rsc="12", rsc_training="0", dei="0") -> PortfolioTotals:
    return PortfolioTotals(
        training_hours=Decimal(training),
        rsc_training_hours=Decimal(rsc_training),
        dei_training_hours=Decimal(dei),
        rsc_received_hours=Decimal(rsc),
    )


def checks_by_label(renewal: Renewal, totals: PortfolioTotals, rules: RenewalRules) -> dict[str, bool | None]:
    checks = renewal_checks(renewal, totals, rules)
    return {check.label: check.met for check in checks if check.label != "Attestation"}


TRAINING = "Relationship-based training this year"
RSC = "Reflective supervision/consultation received"
RSC_TRAINING = "Training on reflective supervision/consultation (you provide RSC)"
DEI = "Training on diversity, equity and inclusion"
MEMBERSHIP = "Association membership"
ALL_KINDS = [
    (1, None),
    (2, None),
    (3, None),
    (4, MentorTrack.CLINICAL),
    (4, MentorTrack.POLICY),
    (4, MentorTrack.RESEARCH),
]


@pytest.mark.parametrize(("category", "track"), ALL_KINDS)
def test_every_category_needs_15_hours_of_training(rules, category, track):
    assert checks_by_label(renewal(category, track), totals(training="14.75"), rules)[TRAINING] is False
    assert checks_by_label(renewal(category, track), totals(training="15"), rules)[TRAINING] is True


@pytest.mark.parametrize(("category", "track"), [(2, None), (3, None), (4, MentorTrack.CLINICAL)])
def test_categories_2_3_and_clinical_mentors_need_12_hours_of_rsc(rules, category, track):
    assert checks_by_label(renewal(category, track), totals(rsc="11.75"), rules)[RSC] is False
    assert checks_by_label(renewal(category, track), totals(rsc="12"), rules)[RSC] is True


@pytest.mark.parametrize(("category", "track"), [(1, None), (4, MentorTrack.POLICY), (4, MentorTrack.RESEARCH)])
def test_category_1_and_policy_and_research_mentors_need_no_rsc(rules, category, track):
    checks = checks_by_label(renewal(category, track), totals(rsc="0"), rules)
    assert RSC not in checks
    assert all_met(renewal_checks(renewal(category, track), totals(rsc="0"), rules))


def test_a_clinical_mentor_endorsed_three_years_by_the_next_period_needs_10_hours(rules):
    senior = renewal(4, MentorTrack.CLINICAL, issued_on=NEXT_PERIOD.replace(year=NEXT_PERIOD.year - 3))
    assert rsc_hours_required(senior.endorsement, rules) == 10
    assert checks_by_label(senior, totals(rsc="9.75"), rules)[RSC] is False
    assert checks_by_label(senior, totals(rsc="10"), rules)[RSC] is True
    # Issued a day later: three years only after the next period starts, so still 12.
    junior = renewal(4, MentorTrack.CLINICAL, issued_on=NEXT_PERIOD.replace(year=NEXT_PERIOD.year - 3) + DAY)
    assert rsc_hours_required(junior.endorsement, rules) == 12
    assert checks_by_label(junior, totals(rsc="10"), rules)[RSC] is False
    # The lower requirement is the mentors': a category 3 endorsee of as long still needs 12.
    assert rsc_hours_required(renewal(3, issued_on=date(2010, 1, 1)).endorsement, rules) == 12


def test_an_rsc_provider_needs_3_hours_of_training_on_rsc(rules):
    assert RSC_TRAINING not in checks_by_label(renewal(provides_rsc=False), totals(), rules)
    provider = renewal(provides_rsc=True)
    assert checks_by_label(provider, totals(rsc_training="2.75"), rules)[RSC_TRAINING] is False
    assert checks_by_label(provider, totals(rsc_training="3"), rules)[RSC_TRAINING] is True


def test_dei_hours_are_checked_only_when_set(rules):
    assert rules.dei_hours == 0
    assert DEI not in checks_by_label(renewal(), totals(), rules)
    with_dei = dataclasses.replace(rules, dei_hours=2)
    assert checks_by_label(renewal(), totals(dei="1.75"), with_dei)[DEI] is False
    assert checks_by_label(renewal(), totals(dei="2"), with_dei)[DEI] is True


def test_the_membership_must_be_current_on_the_first_day_of_the_next_period(rules):
    assert checks_by_label(renewal(expires_on=PERIOD_ENDS), totals(), rules)[MEMBERSHIP] is False
    assert checks_by_label(renewal(expires_on=NEXT_PERIOD), totals(), rules)[MEMBERSHIP] is True
    assert checks_by_label(renewal(expires_on=None), totals(), rules)[MEMBERSHIP] is False
    rejected = renewal(expires_on=NEXT_PERIOD + DAY * 300, status=MembershipStatus.REJECTED)
    assert checks_by_label(rejected, totals(), rules)[MEMBERSHIP] is False
    verified = renewal(status=MembershipStatus.VERIFIED)
    [check] = [c for c in renewal_checks(verified, totals(), rules) if c.label == MEMBERSHIP]
    assert check.met is True and "(verified)" in check.recorded


def test_each_configured_attestation_must_be_signed(rules):
    assert rules.attestations == tuple(RENEWAL_ATTESTATIONS)
    unsigned = [c for c in renewal_checks(renewal(attestations=()), totals(), rules) if c.label == "Attestation"]
    assert [c.required for c in unsigned] == list(RENEWAL_ATTESTATIONS.values())
    assert [c.met for c in unsigned] == [False, False]
    one = renewal(attestations=("no_sanction",))
    assert [c.met for c in renewal_checks(one, totals(), rules) if c.label == "Attestation"] == [False, True]
    assert not all_met(renewal_checks(one, totals(), rules))
    assert all_met(renewal_checks(renewal(), totals(), rules))
    none_asked = dataclasses.replace(rules, attestations=())
    assert all_met(renewal_checks(renewal(attestations=()), totals(), none_asked))
