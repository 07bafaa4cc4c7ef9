"""The ratings of one application side by side: a matrix domain × referee, per-domain means over
the references that count, and the flags reviewers must see, each explained in words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from statistics import mean

from refportal.applications.categories import Credential
from refportal.applications.models import Application
from refportal.membership.models import MembershipKind, MembershipStatus
from refportal.references.models import Reference, ReferenceStatus
from refportal.references.rating_form import DOMAINS, ITEM_KEYS, LOW_SCORE, NOT_ENOUGH_INFORMATION, Recommendation
from refportal.references.roles import CATEGORIES_NEEDING_ENDORSED_REFEREE


@dataclass(frozen=True)
class Cell:
    mean: float | None  # None: every item of the domain was "not enough information"
    not_enough_information: int


@dataclass
class Column:
    reference: Reference
    cells: dict[str, Cell]
    counts: bool
    recommendation: Recommendation
    not_enough_information: int
    low_items: list[str] = field(default_factory=list)


@dataclass
class Matrix:
    columns: list[Column]
    domain_means: dict[str, float | None]  # over the counted references' cell means


@dataclass(frozen=True)
class Flag:
    kind: str
    text: str
    rule: str  # the setting or domain rule it comes from


def _cell(answers: dict[str, str], item_keys: list[str]) -> Cell:
    scores = [int(answers[key]) for key in item_keys if answers.get(key) not in (None, NOT_ENOUGH_INFORMATION)]
    na = sum(1 for key in item_keys if answers.get(key) == NOT_ENOUGH_INFORMATION)
    return Cell(round(mean(scores), 2) if scores else None, na)


def build_matrix(references: list[Reference]) -> Matrix:
    """One column per submitted rating, in the order given."""
    columns = []
    for reference in references:
        if reference.status is not ReferenceStatus.SUBMITTED or reference.rating is None:
            continue
        rating = reference.rating
        cells = {d.key: _cell(rating.answers, [i.key for i in d.items]) for d in DOMAINS}
        low = [
            key
            for key in ITEM_KEYS
            if rating.answers.get(key, NOT_ENOUGH_INFORMATION) != NOT_ENOUGH_INFORMATION
            and int(rating.answers[key]) <= LOW_SCORE
        ]
        columns.append(
            Column(reference, cells, rating.counts, rating.recommendation, rating.not_enough_information, low)
        )
    means: dict[str, float | None] = {}
    for domain in DOMAINS:
        values = [m for c in columns if c.counts and (m := c.cells[domain.key].mean) is not None]
        means[domain.key] = round(mean(values), 2) if values else None
    return Matrix(columns, means)


@dataclass(frozen=True)
class FlagRules:
    """The settings the flags are measured against (each flag names the one it comes from)."""

    review_by: date  # memberships must still be current then (today + REVIEW_HORIZON_DAYS)
    as_of: date  # ratings' age is measured at this date: the decision's, or today while undecided
    na_limit: int = 6  # NOT_ENOUGH_INFORMATION_LIMIT
    rating_valid_days: int = 365  # RATING_VALID_DAYS
    known_years_minimum: Decimal = Decimal(1)  # REFEREE_KNOWN_YEARS_MINIMUM


@dataclass(frozen=True)
class Endorsement:
    """An endorsement the portal itself granted (an endorsed application of a user)."""

    credential: Credential
    category: int
    decided_at: datetime | None


def file_flags(
    application: Application,
    matrix: Matrix,
    rules: FlagRules,
    endorsements: Mapping[str, list[Endorsement]] | None = None,
) -> list[Flag]:
    """Everything a reviewer should not miss, in words, each with the rule it comes from.

    `endorsements` maps referee addresses that are users of this portal to the endorsements the portal
    granted them (a user with none has an empty list; an address that is not a user is missing)."""
    flags = [*_rating_flags(matrix, rules)]
    active = [r for r in application.references if not r.has_ended]
    flags += _referee_flags(active, rules, endorsements or {})
    if application.category in CATEGORIES_NEEDING_ENDORSED_REFEREE and not any(r.endorsed_credential for r in active):
        flags.append(
            Flag(
                "no_endorsed_referee",
                "None of the referees is endorsed; this category asks for at least one.",
                "categories 2–4: at least one referee should be endorsed",
            )
        )
    flags += _membership_flags(application, rules)
    return flags


def _rating_flags(matrix: Matrix, rules: FlagRules) -> list[Flag]:
    flags = []
    for column in matrix.columns:
        name = column.reference.name
        if not column.counts:
            flags.append(
                Flag(
                    "not_counted",
                    f"{name}'s rating does not count: "
                    f"{column.not_enough_information} items were answered "
                    f"“not enough information” (a rating with {rules.na_limit} or more does not count).",
                    f"NOT_ENOUGH_INFORMATION_LIMIT = {rules.na_limit}",
                )
            )
        if column.recommendation is Recommendation.DO_NOT_RECOMMEND:
            flags.append(
                Flag("do_not_recommend", f"{name} does not recommend the applicant.", "any “do not recommend”")
            )
        elif column.low_items:
            reservations = (
                " with reservations" if column.recommendation is Recommendation.RECOMMEND_WITH_RESERVATIONS else ""
            )
            flags.append(
                Flag(
                    "low_scores",
                    f"{name} recommends the applicant{reservations} but rated "
                    f"{len(column.low_items)} item(s) at {LOW_SCORE} or below.",
                    f"item scores of {LOW_SCORE} or below beside a positive recommendation",
                )
            )
        rating = column.reference.rating
        if rating is not None and rating.submitted_at is not None:
            age = (rules.as_of - rating.submitted_at.date()).days
            if age > rules.rating_valid_days:
                flags.append(
                    Flag(
                        "rating_too_old",
                        f"{name}'s rating is from {rating.submitted_at:%d %B %Y}: "
                        f"{age} days old on {rules.as_of:%d %B %Y}.",
                        f"RATING_VALID_DAYS = {rules.rating_valid_days} (a rating is valid for a year)",
                    )
                )
    return flags


def _referee_flags(
    active: list[Reference], rules: FlagRules, endorsements: Mapping[str, list[Endorsement]]
) -> list[Flag]:
    flags = []
    for reference in active:
        years = [reference.known_years, *([reference.rating.relationship_years] if reference.rating else [])]
        shortest = min(Decimal(str(y)) for y in years if y is not None)
        if shortest < rules.known_years_minimum:
            flags.append(
                Flag(
                    "known_briefly",
                    f"{reference.name} has known the applicant for {shortest:g} year(s).",
                    f"REFEREE_KNOWN_YEARS_MINIMUM = {rules.known_years_minimum:g} (about a year)",
                )
            )
        rating = reference.rating
        if rating is not None and rating.referee_role is not None and rating.referee_role is not reference.role:
            flags.append(
                Flag(
                    "role_differs",
                    f"{reference.name} describes their role as “{rating.referee_role.label}”; "
                    f"the applicant nominated them as “{reference.role.label}”.",
                    "the referee confirms the relationship the applicant declared",
                )
            )
        granted = endorsements.get(reference.email)
        claims = {
            (reference.endorsed_credential, reference.endorsed_category, "the applicant"),
            *([(rating.endorsed_credential, rating.endorsed_category, "the referee")] if rating else []),
        }
        for credential, category, who in sorted(claims, key=lambda claim: claim[2]):
            if credential is None or granted is None:
                continue  # no claim, or not a user here: nothing to check against
            if not any(e.credential is credential and e.category == category for e in granted):
                flags.append(
                    Flag(
                        "endorsement_contradicted",
                        f"{reference.name} is said by {who} to be endorsed ({credential.short}, category "
                        f"{category}), but this portal's records show {_endorsements_text(granted)}.",
                        "the portal's own endorsement records",
                    )
                )
    return flags


def _endorsements_text(granted: list[Endorsement]) -> str:
    if not granted:
        return "no endorsement"
    return "; ".join(f"{e.credential.short} category {e.category}" for e in granted)


def _membership_flags(application: Application, rules: FlagRules) -> list[Flag]:
    rule = "an individual, current membership (REVIEW_HORIZON_DAYS ahead)"
    declaration = application.membership
    if declaration is None:
        return [Flag("membership", "No membership has been declared.", rule)]
    if declaration.kind is MembershipKind.WILL_JOIN and declaration.status is MembershipStatus.DECLARED:
        return [
            Flag(
                "membership",
                "The applicant has not joined yet (declared they will join): the new membership is confirmed by "
                "a roster that lists their e-mail, or by a reviewer below.",
                rule,
            )
        ]
    status = declaration.status_on(rules.review_by)
    if status is MembershipStatus.EXPIRED:
        return [
            Flag(
                "membership",
                f"The membership expires on {declaration.expires_on:%d %B %Y}, "
                f"before the review (by {rules.review_by:%d %B %Y}).",
                rule,
            )
        ]
    if status is not MembershipStatus.VERIFIED:
        return [Flag("membership", f"The membership is {status.label.lower()}, not verified.", rule)]
    return []
