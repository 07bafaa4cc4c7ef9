"""The rating form as data: eight competency domains, their items, the scale, per-credential wording.

Item texts use {children} and {families}; `item_text()` fills them in for the credential.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from refportal.applications.categories import Credential

FORM_VERSION = "2026-1"
NOT_ENOUGH_INFORMATION = "na"

SCALE = (
    ("1", "1 – Not observed in practice"),
    ("2", "2 – Emerging"),
    ("3", "3 – Developing"),
    ("4", "4 – Consistent"),
    ("5", "5 – Exemplary"),
)
NOT_ENOUGH_INFORMATION_LABEL = "Not enough information to rate"
# Scores at or below this, beside a positive overall recommendation, are flagged for reviewers.
LOW_SCORE = 2

WORDING = {
    Credential.IMH_E: {"children": "infants and toddlers", "families": "expectant parents and families of infants and toddlers"},
    Credential.ECMH_E: {"children": "young children (3 up to 6)", "families": "families of young children"},
}


@dataclass(frozen=True)
class Item:
    key: str
    text: str


@dataclass(frozen=True)
class Domain:
    key: str
    title: str
    items: tuple[Item, ...]


DOMAINS: tuple[Domain, ...] = (
    Domain("theory", "Theoretical Foundations", (
        Item("theory_development", "Applies knowledge of the development of {children} in daily work."),
        Item("theory_relationships", "Understands how relationships and attachment shape the development of {children}."),
    )),
    Domain("law", "Law, Regulation & Agency Policy", (
        Item("law_ethics", "Follows legal, ethical and agency requirements, such as reporting and confidentiality."),
    )),
    Domain("systems", "Systems Expertise", (
        Item("systems_resources", "Knows community services and helps {families} reach them."),
    )),
    Domain("direct", "Direct Service Skills", (
        Item("direct_observation", "Observes and responds to the needs of {children} and their caregivers."),
        Item("direct_relationships", "Supports the relationships between {children} and their caregivers."),
    )),
    Domain("others", "Working with Others", (
        Item("others_families", "Builds respectful, collaborative relationships with {families}."),
        Item("others_colleagues", "Works well with colleagues and professionals from other disciplines."),
        Item("others_diversity", "Respects the cultures, values and circumstances of families and colleagues."),
        Item("others_conflict", "Handles disagreement and conflict constructively."),
    )),
    Domain("communicating", "Communicating", (
        Item("communicating_listening", "Listens attentively and speaks clearly with families and colleagues."),
        Item("communicating_writing", "Writes clear, accurate and timely records."),
    )),
    Domain("thinking", "Thinking", (
        Item("thinking_analysis", "Considers several perspectives before acting on a complex situation."),
        Item("thinking_problems", "Solves problems flexibly, with the needs of {children} in mind."),
        Item("thinking_planning", "Plans and carries out work thoughtfully."),
    )),
    Domain("reflection", "Reflection", (
        Item("reflection_supervision", "Seeks out and makes good use of reflective supervision or consultation."),
        Item("reflection_self", "Recognises how their own feelings and experiences affect their work."),
        Item("reflection_feedback", "Is open to feedback and adjusts their practice."),
        Item("reflection_impact", "Attends to the emotional impact of the work on {children}, families and themselves."),
    )),
)

ITEM_KEYS: tuple[str, ...] = tuple(item.key for domain in DOMAINS for item in domain.items)


NEUTRAL_WORDING = {"children": "young children", "families": "families"}


def item_text(item: Item, credential: Credential | None) -> str:
    return item.text.format(**WORDING.get(credential, NEUTRAL_WORDING))


class Recommendation(enum.Enum):
    RECOMMEND = "recommend"
    RECOMMEND_WITH_RESERVATIONS = "recommend_with_reservations"
    DO_NOT_RECOMMEND = "do_not_recommend"

    @property
    def label(self) -> str:
        return {
            "recommend": "I recommend the applicant",
            "recommend_with_reservations": "I recommend the applicant with reservations",
            "do_not_recommend": "I do not recommend the applicant",
        }[self.value]

    @property
    def is_positive(self) -> bool:
        return self is not Recommendation.DO_NOT_RECOMMEND


def not_enough_information_count(answers: dict[str, str]) -> int:
    return sum(1 for key in ITEM_KEYS if answers.get(key) == NOT_ENOUGH_INFORMATION)
