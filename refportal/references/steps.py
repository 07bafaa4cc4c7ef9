"""The rating form in steps: about you and the applicant, the competency domains a few at a time,
the overall recommendation with the signature, then the summary. Each step owns some answers; saving
a step merges only those into the draft, so no step wipes another's answers."""

from __future__ import annotations

from dataclasses import dataclass

from refportal.i18n import lazy_gettext as _l
from refportal.references.rating_form import DOMAINS, Domain


@dataclass(frozen=True)
class Step:
    number: int
    key: str
    title: object  # a lazy translatable string, or None for a competency step (its domains name it)
    fields: tuple[str, ...]  # the draft's answers this step owns (besides its items)
    domains: tuple[Domain, ...] = ()

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(item.key for domain in self.domains for item in domain.items)

    @property
    def name(self) -> str:
        if self.title is not None:
            return str(self.title)
        return "; ".join(str(domain.title) for domain in self.domains)


def _domains(*keys: str) -> tuple[Domain, ...]:
    by_key = {domain.key: domain for domain in DOMAINS}
    return tuple(by_key[key] for key in keys)


ABOUT_FIELDS = (
    "relationship_role",
    "relationship_setting",
    "relationship_years",
    "referee_role",
    "endorsement",
    "endorsed_category",
    "endorsement_number",
)
OVERALL_FIELDS = ("recommendation", "strengths", "growth", "for_reviewers", "attestation_name", "attest")

STEPS: tuple[Step, ...] = (
    Step(1, "about", _l("About you and the applicant"), ABOUT_FIELDS),
    Step(2, "foundations", None, (), _domains("theory", "law", "systems")),
    Step(3, "practice", None, (), _domains("direct", "others")),
    Step(4, "communicating", None, (), _domains("communicating", "thinking")),
    Step(5, "reflection", None, (), _domains("reflection")),
    Step(6, "overall", _l("Your recommendation and signature"), OVERALL_FIELDS),
)
SUMMARY_STEP = len(STEPS) + 1  # the summary before submitting is the last step
STEP_COUNT = SUMMARY_STEP

assert {key for step in STEPS for key in step.item_keys} == {i.key for d in DOMAINS for i in d.items}


def step(number: int) -> Step | None:
    return STEPS[number - 1] if 1 <= number <= len(STEPS) else None


def step_of_problem(field: str) -> Step:
    """The step where a field named by rating_problems (item_<key> or an answer) is answered."""
    for candidate in STEPS:
        if field in candidate.fields or field.removeprefix("item_") in candidate.item_keys:
            return candidate
    raise KeyError(field)


def first_step_with_problems(problems: dict[str, str]) -> Step | None:
    steps = [step_of_problem(field) for field in problems]
    return min(steps, key=lambda s: s.number) if steps else None


def merge_step(draft: dict | None, answers: dict, owned: Step | None) -> dict:
    """The draft with the answers `owned` holds replaced by those in `answers` (the whole form was
    sent when `owned` is None: its answers are the draft). Items not sent keep their saved answer."""
    if owned is None:
        return answers
    merged = dict(draft or {})
    for field in owned.fields:
        merged[field] = answers.get(field)
    items = dict(merged.get("items") or {})
    sent = answers.get("items", {})
    items.update({key: sent[key] for key in owned.item_keys if key in sent})
    merged["items"] = items
    return merged


# The whole form on one page: what a post of every answer at once (POST /r/<token>) shows back.
WHOLE_FORM = Step(0, "whole", _l("Your rating"), ABOUT_FIELDS + OVERALL_FIELDS, DOMAINS)


def step_of_item(key: str) -> Step:
    return step_of_problem(f"item_{key}")
