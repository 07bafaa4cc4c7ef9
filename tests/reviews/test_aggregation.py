"""Aggregation and flags on hand-made ratings, with the expected numbers written out."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from decimal import Decimal

from refportal.applications.categories import Credential
from refportal.applications.models import Application
from refportal.membership.models import Association, MembershipDeclaration, MembershipKind, MembershipStatus
from refportal.references.models import Rating, Reference, ReferenceStatus
from refportal.references.rating_form import ITEM_KEYS, Recommendation
from refportal.references.roles import RefereeRole
from refportal.reviews.aggregation import Endorsement, FlagRules, build_matrix, file_flags

TODAY = date(2026, 11, 23)
RULES = FlagRules(review_by=TODAY, as_of=TODAY, na_limit=6)


def reference(name, answers, recommendation=Recommendation.RECOMMEND, endorsed=False, status=ReferenceStatus.SUBMITTED):
    na = sum(1 for v in answers.values() if v == "na")
    ref = Reference(
        name=name,
        email=f"{name.lower()}@example.net",
        organisation="Org",
        role=RefereeRole.COLLEAGUE,
        setting="S",
        known_years=Decimal(2),
        waived=True,
        status=status,
        endorsed_credential=Credential.IMH_E if endorsed else None,
        endorsed_category=3 if endorsed else None,
    )
    ref.rating = Rating(
        answers=answers,
        not_enough_information=na,
        counts=na < 6,
        recommendation=recommendation,
        form_version="t",
        strengths="",
        growth="",
        relationship_role="",
        relationship_setting="",
        relationship_years=Decimal(1),
        attestation_name=name,
    )
    return ref


def answers(default="4", **overrides):
    values = {key: default for key in ITEM_KEYS}
    values.update(overrides)
    return values


def application(references, membership=None, category=2):
    app = Application(credential=Credential.IMH_E, category=category, references=references)
    app.membership = membership
    return app


def test_cells_and_domain_means():
    # Theoretical Foundations has two items; Working with Others four; Law one.
    a = reference("Ann", answers("4", theory_development="5", theory_relationships="3", law_ethics="na"))
    b = reference("Ben", answers("2", others_families="na", others_colleagues="3"))
    matrix = build_matrix([a, b])
    ann, ben = matrix.columns
    assert ann.cells["theory"].mean == 4.0 and ann.cells["theory"].not_enough_information == 0
    assert ann.cells["law"].mean is None and ann.cells["law"].not_enough_information == 1
    assert ben.cells["others"].mean == round((3 + 2 + 2) / 3, 2) == 2.33
    assert ben.cells["others"].not_enough_information == 1
    assert matrix.domain_means["theory"] == 3.0  # (4.0 + 2.0) / 2
    assert matrix.domain_means["law"] == 2.0  # only Ben rated it
    assert matrix.domain_means["others"] == round((4.0 + 2.33) / 2, 2) == 3.17


def test_a_reference_that_does_not_count_is_left_out_of_the_means_and_flagged():
    six_na = {key: "na" for key in ITEM_KEYS[:6]}
    a = reference("Ann", answers("5", **six_na))
    b = reference("Ben", answers("3"))
    matrix = build_matrix([a, b])
    assert [c.counts for c in matrix.columns] == [False, True]
    assert matrix.domain_means["reflection"] == 3.0
    flags = file_flags(application([a, b]), matrix, RULES)
    assert any(f.kind == "not_counted" and "Ann's rating does not count: 6 items" in f.text for f in flags)


def test_unsubmitted_references_have_no_column():
    a = reference("Ann", answers(), status=ReferenceStatus.IN_PROGRESS)
    assert build_matrix([a]).columns == []


def test_do_not_recommend_is_flagged():
    a = reference("Ann", answers("1"), Recommendation.DO_NOT_RECOMMEND, endorsed=True)
    flags = file_flags(application([a]), build_matrix([a]), RULES)
    assert [f.text for f in flags if f.kind == "do_not_recommend"] == ["Ann does not recommend the applicant."]
    assert not [f for f in flags if f.kind == "low_scores"]  # low scores are expected there


def test_low_scores_beside_a_positive_recommendation_are_flagged():
    a = reference(
        "Ann", answers("4", reflection_self="2", thinking_analysis="1"), Recommendation.RECOMMEND, endorsed=True
    )
    b = reference("Ben", answers("3"), Recommendation.RECOMMEND_WITH_RESERVATIONS, endorsed=True)
    flags = file_flags(application([a, b]), build_matrix([a, b]), RULES)
    low = [f.text for f in flags if f.kind == "low_scores"]
    assert low == ["Ann recommends the applicant but rated 2 item(s) at 2 or below."]
    c = reference("Cy", answers("4", reflection_self="2"), Recommendation.RECOMMEND_WITH_RESERVATIONS, endorsed=True)
    [flag] = [f for f in file_flags(application([c]), build_matrix([c]), RULES) if f.kind == "low_scores"]
    assert flag.text == "Cy recommends the applicant with reservations but rated 1 item(s) at 2 or below."


def test_no_endorsed_referee_is_flagged_for_categories_2_to_4_only():
    refs = [reference("Ann", answers())]
    assert any(
        f.kind == "no_endorsed_referee" for f in file_flags(application(refs, category=2), build_matrix(refs), RULES)
    )
    assert not any(
        f.kind == "no_endorsed_referee" for f in file_flags(application(refs, category=1), build_matrix(refs), RULES)
    )


def membership(status, expires_on):
    return MembershipDeclaration(
        kind=MembershipKind.CURRENT_MEMBER,
        association=Association.WAIMH,
        member_number="1",
        expires_on=expires_on,
        status=status,
    )


def test_membership_flags():
    refs = [reference("Ann", answers(), endorsed=True)]
    m = build_matrix(refs)
    verified = membership(MembershipStatus.VERIFIED, TODAY + timedelta(days=365))
    assert (
        file_flags(application(refs, verified), m, FlagRules(review_by=TODAY + timedelta(days=60), as_of=TODAY)) == []
    )
    declared = membership(MembershipStatus.DECLARED, TODAY + timedelta(days=365))
    assert [f.text for f in file_flags(application(refs, declared), m, RULES)] == [
        "The membership is declared, not verified."
    ]
    expiring = membership(MembershipStatus.VERIFIED, TODAY + timedelta(days=30))
    [flag] = file_flags(application(refs, expiring), m, FlagRules(review_by=TODAY + timedelta(days=60), as_of=TODAY))
    assert "expires on" in flag.text and "before the review" in flag.text
    assert [f.text for f in file_flags(application(refs, None), m, RULES)] == ["No membership has been declared."]


def rated_on(ref, day: date):
    from datetime import datetime

    ref.rating.submitted_at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return ref


def kinds(flags):
    return [f.kind for f in flags]


def test_a_rating_older_than_its_validity_at_decision_time_is_flagged():
    fresh = rated_on(reference("Ann", answers(), endorsed=True), TODAY - timedelta(days=365))
    old = rated_on(reference("Ben", answers()), TODAY - timedelta(days=366))
    flags = [
        f
        for f in file_flags(application([fresh, old]), build_matrix([fresh, old]), RULES)
        if f.kind == "rating_too_old"
    ]
    assert [f.text for f in flags] == [
        f"Ben's rating is from {TODAY - timedelta(days=366):%d %B %Y}: 366 days old on {TODAY:%d %B %Y}."
    ]
    assert flags[0].rule.startswith("RATING_VALID_DAYS = 365")
    longer = FlagRules(review_by=TODAY, as_of=TODAY, rating_valid_days=400)
    assert "rating_too_old" not in kinds(file_flags(application([old]), build_matrix([old]), longer))


def test_a_referee_known_for_less_than_a_year_is_flagged_from_either_side():
    nominated_short = reference("Ann", answers(), endorsed=True)
    nominated_short.known_years = Decimal("0.5")
    said_short = reference("Ben", answers())
    said_short.rating.relationship_years = Decimal("0.8")
    long_enough = reference("Cy", answers())
    refs = [nominated_short, said_short, long_enough]
    flags = [f for f in file_flags(application(refs), build_matrix(refs), RULES) if f.kind == "known_briefly"]
    assert [f.text for f in flags] == [
        "Ann has known the applicant for 0.5 year(s).",
        "Ben has known the applicant for 0.8 year(s).",
    ]
    assert all("REFEREE_KNOWN_YEARS_MINIMUM = 1" in f.rule for f in flags)


def test_a_claimed_endorsement_is_checked_against_the_portals_records():
    claimed = reference("Ann", answers(), endorsed=True)  # IMH-E category 3, as nominated
    refs = [claimed]
    matrix = build_matrix(refs)
    confirmed = {"ann@example.net": [Endorsement(Credential.IMH_E, 3, None)]}
    contradicted = {"ann@example.net": [Endorsement(Credential.ECMH_E, 2, None)]}
    never = {"ann@example.net": []}
    assert "endorsement_contradicted" not in kinds(file_flags(application(refs), matrix, RULES, confirmed))
    assert "endorsement_contradicted" not in kinds(file_flags(application(refs), matrix, RULES, {}))  # not a user
    [flag] = [
        f for f in file_flags(application(refs), matrix, RULES, contradicted) if f.kind == "endorsement_contradicted"
    ]
    assert "said by the applicant" in flag.text and "this portal's records show ECMH-E category 2" in flag.text
    [flag] = [f for f in file_flags(application(refs), matrix, RULES, never) if f.kind == "endorsement_contradicted"]
    assert "this portal's records show no endorsement" in flag.text


def test_every_flag_names_its_rule():
    six_na = {key: "na" for key in ITEM_KEYS[:6]}
    refs = [rated_on(reference("Ann", answers("1", **six_na), Recommendation.DO_NOT_RECOMMEND), date(2020, 1, 1))]
    flags = file_flags(application(refs, None, category=3), build_matrix(refs), RULES, {"ann@example.net": []})
    assert flags and all(flag.rule for flag in flags)


def test_the_referees_own_account_is_checked():
    ann = reference("Ann", answers(), endorsed=True)  # nominated as a colleague, IMH-E 3
    ann.rating.referee_role = RefereeRole.SUPERVISOR
    ann.rating.endorsed_credential, ann.rating.endorsed_category = Credential.ECMH_E, 4
    flags = file_flags(
        application([ann]), build_matrix([ann]), RULES, {"ann@example.net": [Endorsement(Credential.IMH_E, 3, None)]}
    )
    [role] = [f for f in flags if f.kind == "role_differs"]
    assert "Current program supervisor" in role.text and "“Colleague”" in role.text
    [claim] = [f for f in flags if f.kind == "endorsement_contradicted"]  # the applicant's claim holds
    assert "said by the referee" in claim.text and "(ECMH-E, category 4)" in claim.text
    ann.rating.referee_role = RefereeRole.COLLEAGUE
    assert "role_differs" not in kinds(file_flags(application([ann]), build_matrix([ann]), RULES))
