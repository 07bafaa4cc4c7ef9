"""The rating form as data: eight competency domains, their items, the scale, per-credential wording.

Item texts use {children} and {families}; `item_text()` fills them in for the credential.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from refportal.applications.categories import Credential
from refportal.i18n import lazy_gettext as _l

FORM_VERSION = "2026-1"
NOT_ENOUGH_INFORMATION = "na"
NOT_ENDORSED = "none"  # the referee's answer to "Do you hold the Endorsement yourself?"

SCALE = (
    ("1", _l("1 – Not observed in practice")),
    ("2", _l("2 – Emerging")),
    ("3", _l("3 – Developing")),
    ("4", _l("4 – Consistent")),
    ("5", _l("5 – Exemplary")),
)
NOT_ENOUGH_INFORMATION_LABEL = _l("Not enough information to rate")
# Scores at or below this, beside a positive overall recommendation, are flagged for reviewers.
LOW_SCORE = 2

WORDING = {
    Credential.IMH_E: {
        "children": _l("infants and toddlers"),
        "families": _l("expectant parents and families of infants and toddlers"),
    },
    Credential.ECMH_E: {"children": _l("young children (3 up to 6)"), "families": _l("families of young children")},
}


@dataclass(frozen=True)
class Item:
    key: str
    text: object  # a lazy translatable string


@dataclass(frozen=True)
class Domain:
    key: str
    title: object  # a lazy translatable string
    items: tuple[Item, ...]


DOMAINS: tuple[Domain, ...] = (
    Domain(
        "theory",
        _l("Theoretical Foundations"),
        (
            Item("theory_development", _l("Applies knowledge of the development of {children} in daily work.")),
            Item(
                "theory_relationships",
                _l("Understands how relationships and attachment shape the development of {children}."),
            ),
        ),
    ),
    Domain(
        "law",
        _l("Law, Regulation & Agency Policy"),
        (
            Item(
                "law_ethics",
                _l("Follows legal, ethical and agency requirements, such as reporting and confidentiality."),
            ),
        ),
    ),
    Domain(
        "systems",
        _l("Systems Expertise"),
        (Item("systems_resources", _l("Knows community services and helps {families} reach them.")),),
    ),
    Domain(
        "direct",
        _l("Direct Service Skills"),
        (
            Item("direct_observation", _l("Observes and responds to the needs of {children} and their caregivers.")),
            Item("direct_relationships", _l("Supports the relationships between {children} and their caregivers.")),
        ),
    ),
    Domain(
        "others",
        _l("Working with Others"),
        (
            Item("others_families", _l("Builds respectful, collaborative relationships with {families}.")),
            Item("others_colleagues", _l("Works well with colleagues and professionals from other disciplines.")),
            Item("others_diversity", _l("Respects the cultures, values and circumstances of families and colleagues.")),
            Item("others_conflict", _l("Handles disagreement and conflict constructively.")),
        ),
    ),
    Domain(
        "communicating",
        _l("Communicating"),
        (
            Item("communicating_listening", _l("Listens attentively and speaks clearly with families and colleagues.")),
            Item("communicating_writing", _l("Writes clear, accurate and timely records.")),
        ),
    ),
    Domain(
        "thinking",
        _l("Thinking"),
        (
            Item("thinking_analysis", _l("Considers several perspectives before acting on a complex situation.")),
            Item("thinking_problems", _l("Solves problems flexibly, with the needs of {children} in mind.")),
            Item("thinking_planning", _l("Plans and carries out work thoughtfully.")),
        ),
    ),
    Domain(
        "reflection",
        _l("Reflection"),
        (
            Item(
                "reflection_supervision", _l("Seeks out and makes good use of reflective supervision or consultation.")
            ),
            Item("reflection_self", _l("Recognises how their own feelings and experiences affect their work.")),
            Item("reflection_feedback", _l("Is open to feedback and adjusts their practice.")),
            Item(
                "reflection_impact",
                _l("Attends to the emotional impact of the work on {children}, families and themselves."),
            ),
        ),
    ),
)

ITEM_KEYS: tuple[str, ...] = tuple(item.key for domain in DOMAINS for item in domain.items)


NEUTRAL_WORDING = {"children": _l("young children"), "families": _l("families")}


def item_text(item: Item, credential: Credential | None) -> str:
    """The item in the current language, worded for the credential."""
    wording = WORDING.get(credential, NEUTRAL_WORDING) if credential is not None else NEUTRAL_WORDING
    return str(item.text).format(**{key: str(value) for key, value in wording.items()})


class Recommendation(enum.Enum):
    RECOMMEND = "recommend"
    RECOMMEND_WITH_RESERVATIONS = "recommend_with_reservations"
    DO_NOT_RECOMMEND = "do_not_recommend"

    @property
    def label(self) -> str:
        return str(
            {
                "recommend": _l("I recommend the applicant"),
                "recommend_with_reservations": _l("I recommend the applicant with reservations"),
                "do_not_recommend": _l("I do not recommend the applicant"),
            }[self.value]
        )

    @property
    def is_positive(self) -> bool:
        return self is not Recommendation.DO_NOT_RECOMMEND


def not_enough_information_count(answers: dict[str, str]) -> int:
    return sum(1 for key in ITEM_KEYS if answers.get(key) == NOT_ENOUGH_INFORMATION)
