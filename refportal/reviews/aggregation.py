"""The ratings of one application side by side: a matrix domain × referee, per-domain means over
the references that count, and the flags reviewers must see, each explained in words."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from statistics import mean

from refportal.applications.models import Application
from refportal.membership.models import MembershipKind, MembershipStatus
from refportal.references.models import Reference, ReferenceStatus
from refportal.references.rating_form import DOMAINS, ITEM_KEYS, LOW_SCORE, NOT_ENOUGH_INFORMATION, Recommendation

# Categories whose referees should include at least one endorsed professional (domain.md).
CATEGORIES_NEEDING_ENDORSED_REFEREE = (2, 3, 4)


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
        low = [key for key in ITEM_KEYS if rating.answers.get(key, NOT_ENOUGH_INFORMATION) != NOT_ENOUGH_INFORMATION
               and int(rating.answers[key]) <= LOW_SCORE]
        columns.append(Column(reference, cells, rating.counts, rating.recommendation, rating.not_enough_information,
                              low))
    means: dict[str, float | None] = {}
    for domain in DOMAINS:
        values = [m for c in columns if c.counts and (m := c.cells[domain.key].mean) is not None]
        means[domain.key] = round(mean(values), 2) if values else None
    return Matrix(columns, means)


def file_flags(application: Application, matrix: Matrix, *, review_by: date, na_limit: int) -> list[Flag]:
    """Everything a reviewer should not miss, in words."""
    flags = []
    for column in matrix.columns:
        name = column.reference.name
        if not column.counts:
            flags.append(Flag("not_counted", f"{name}'s rating does not count: "
                                             f"{column.not_enough_information} items were answered "
                                             f"“not enough information” (a rating with {na_limit} or more does not count)."))
        if column.recommendation is Recommendation.DO_NOT_RECOMMEND:
            flags.append(Flag("do_not_recommend", f"{name} does not recommend the applicant."))
        elif column.low_items:
            reservations = " with reservations" if column.recommendation is Recommendation.RECOMMEND_WITH_RESERVATIONS else ""
            flags.append(Flag("low_scores", f"{name} recommends the applicant{reservations} but rated "
                                            f"{len(column.low_items)} item(s) at {LOW_SCORE} or below."))
    active = [r for r in application.references if not r.has_ended]
    if application.category in CATEGORIES_NEEDING_ENDORSED_REFEREE and not any(r.endorsed_credential for r in active):
        flags.append(Flag("no_endorsed_referee", "None of the referees is endorsed; this category asks for at least one."))
    declaration = application.membership
    if declaration is None:
        flags.append(Flag("membership", "No membership has been declared."))
    elif declaration.kind is MembershipKind.WILL_JOIN:
        flags.append(Flag("membership", "The applicant has not joined yet (declared they will join)."))
    else:
        status = declaration.status_on(review_by)
        if status is MembershipStatus.EXPIRED:
            flags.append(Flag("membership", f"The membership expires on {declaration.expires_on:%d %B %Y}, "
                                            f"before the review (by {review_by:%d %B %Y})."))
        elif status is not MembershipStatus.VERIFIED:
            flags.append(Flag("membership", f"The membership is {status.label.lower()}, not verified."))
    return flags
