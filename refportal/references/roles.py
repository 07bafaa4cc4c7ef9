"""Who the three referees may and must be, per category (domain.md, "References")."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from itertools import permutations

from flask import current_app

from refportal.applications.categories import MENTOR_CATEGORY, MentorTrack
from refportal.i18n import lazy_gettext as _l


class RefereeRole(enum.Enum):
    SUPERVISOR = "supervisor"
    TEACHER_TRAINER = "teacher_trainer"
    RSC_PROVIDER = "rsc_provider"
    RSC_RECIPIENT = "rsc_recipient"
    SUPERVISEE = "supervisee"
    COLLEAGUE = "colleague"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    RefereeRole.SUPERVISOR: "Current program supervisor",
    RefereeRole.TEACHER_TRAINER: "Teacher, mentor, trainer or consultant",
    RefereeRole.RSC_PROVIDER: "Your reflective supervision/consultation (RSC) provider",
    RefereeRole.RSC_RECIPIENT: "Someone who receives reflective supervision/consultation from you",
    RefereeRole.SUPERVISEE: "Someone you supervise",
    RefereeRole.COLLEAGUE: "Colleague",
}
# The same roles as the referee states them about themselves, on the referee's (translated) form.
REFEREE_SIDE_LABELS = {
    RefereeRole.SUPERVISOR: _l("I am (or was) the applicant's program supervisor"),
    RefereeRole.TEACHER_TRAINER: _l("I am the applicant's teacher, mentor, trainer or consultant"),
    RefereeRole.RSC_PROVIDER: _l("I provide reflective supervision/consultation to the applicant"),
    RefereeRole.RSC_RECIPIENT: _l("I receive reflective supervision/consultation from the applicant"),
    RefereeRole.SUPERVISEE: _l("The applicant supervises me"),
    RefereeRole.COLLEAGUE: _l("I am the applicant's colleague"),
}


@dataclass(frozen=True)
class Requirement:
    """At least one of the three referees must hold one of `roles`."""

    description: str
    roles: frozenset[RefereeRole]


@dataclass(frozen=True)
class RoleRule:
    offered: tuple[RefereeRole, ...]
    required: tuple[Requirement, ...]


RuleKey = tuple[int, MentorTrack | None]


def rules_from_settings(raw: dict) -> dict[RuleKey, RoleRule]:
    """The REFEREE_ROLE_RULES setting (keys "1".."3", "4:clinical", "4:policy", "4:research"; each with
    `offered` roles and `required` [{"description", "roles"}]) as rules; ValueError naming what is wrong."""
    rules: dict[RuleKey, RoleRule] = {}
    for key, spec in raw.items():
        category, _, track = str(key).partition(":")
        try:
            rule_key = (int(category), MentorTrack(track) if track else None)
            offered = tuple(RefereeRole(role) for role in spec["offered"])
            required = tuple(
                Requirement(str(req["description"]), frozenset(RefereeRole(r) for r in req["roles"]))
                for req in spec.get("required", ())
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"referee role rule {key!r}: {exc}") from exc
        if any(not req.roles <= set(offered) for req in required):
            raise ValueError(f"referee role rule {key!r} requires a role it does not offer")
        rules[rule_key] = RoleRule(offered, required)
    expected = {(c, None) for c in (1, 2, 3)} | {(MENTOR_CATEGORY, t) for t in MentorTrack}
    if set(rules) != expected:
        raise ValueError(
            "referee role rules are needed for categories 1-3 and each mentor track (4:clinical, 4:policy, 4:research)"
        )
    return rules


# Categories whose referees should include at least one endorsed professional (domain.md).
CATEGORIES_NEEDING_ENDORSED_REFEREE = (2, 3, 4)


def lacks_endorsed_referee(category: int, endorsed: list[bool]) -> bool:
    """Three referees, none recorded as endorsed, in a category that asks for one."""
    return category in CATEGORIES_NEEDING_ENDORSED_REFEREE and len(endorsed) == 3 and not any(endorsed)


def rule_for(category: int, track: MentorTrack | None) -> RoleRule:
    """The configured rule (REFEREE_ROLE_RULES) for a category and, for mentors, a track."""
    rules: dict[RuleKey, RoleRule] = current_app.extensions["refportal.role_rules"]  # loaded by create_app
    return rules[(category, track if category == MENTOR_CATEGORY else None)]


def unmet_requirements(rule: RoleRule, roles: list[RefereeRole]) -> list[Requirement]:
    """The requirements left uncovered when each referee counts for at most one of them (best case)."""
    best: list[Requirement] = list(rule.required)
    slots = list(roles) + [None] * max(0, len(rule.required) - len(roles))
    for assignment in permutations(slots, len(rule.required)):
        unmet = [req for req, role in zip(rule.required, assignment, strict=True) if role not in req.roles]
        if len(unmet) < len(best):
            best = unmet
    return best
