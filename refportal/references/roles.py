"""Who the three referees may and must be, per category (domain.md, "References")."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from itertools import permutations

from refportal.applications.categories import MENTOR_CATEGORY, MentorTrack


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


@dataclass(frozen=True)
class Requirement:
    """At least one of the three referees must hold one of `roles`."""

    description: str
    roles: frozenset[RefereeRole]


@dataclass(frozen=True)
class RoleRule:
    offered: tuple[RefereeRole, ...]
    required: tuple[Requirement, ...]


R = RefereeRole
SUPERVISOR_OR_TEACHER = Requirement(
    "your current program supervisor (or a teacher, trainer or consultant)", frozenset({R.SUPERVISOR, R.TEACHER_TRAINER})
)
RSC_PROVIDER = Requirement("your reflective supervision/consultation provider", frozenset({R.RSC_PROVIDER}))
SUPERVISOR_OR_COLLEAGUE = Requirement("a supervisor or colleague", frozenset({R.SUPERVISOR, R.COLLEAGUE}))

RULES: dict[tuple[int, MentorTrack | None], RoleRule] = {
    (1, None): RoleRule(
        (R.SUPERVISOR, R.TEACHER_TRAINER, R.COLLEAGUE),
        (Requirement("a current teacher, mentor or supervisor", frozenset({R.SUPERVISOR, R.TEACHER_TRAINER})),),
    ),
    (2, None): RoleRule((R.SUPERVISOR, R.TEACHER_TRAINER, R.RSC_PROVIDER, R.COLLEAGUE), (SUPERVISOR_OR_TEACHER, RSC_PROVIDER)),
    (3, None): RoleRule(
        (R.SUPERVISOR, R.TEACHER_TRAINER, R.RSC_PROVIDER, R.COLLEAGUE, R.SUPERVISEE), (SUPERVISOR_OR_TEACHER, RSC_PROVIDER)
    ),
    (4, MentorTrack.CLINICAL): RoleRule(
        (R.SUPERVISOR, R.COLLEAGUE, R.RSC_PROVIDER, R.RSC_RECIPIENT),
        (
            SUPERVISOR_OR_COLLEAGUE,
            RSC_PROVIDER,
            Requirement("someone who receives reflective supervision/consultation from you", frozenset({R.RSC_RECIPIENT})),
        ),
    ),
    (4, MentorTrack.POLICY): RoleRule((R.SUPERVISOR, R.COLLEAGUE, R.TEACHER_TRAINER, R.SUPERVISEE), (SUPERVISOR_OR_COLLEAGUE,)),
    (4, MentorTrack.RESEARCH): RoleRule((R.SUPERVISOR, R.COLLEAGUE, R.TEACHER_TRAINER, R.SUPERVISEE), (SUPERVISOR_OR_COLLEAGUE,)),
}


# Categories whose referees should include at least one endorsed professional (domain.md).
CATEGORIES_NEEDING_ENDORSED_REFEREE = (2, 3, 4)


def lacks_endorsed_referee(category: int, endorsed: list[bool]) -> bool:
    """Three referees, none recorded as endorsed, in a category that asks for one."""
    return category in CATEGORIES_NEEDING_ENDORSED_REFEREE and len(endorsed) == 3 and not any(endorsed)


def rule_for(category: int, track: MentorTrack | None) -> RoleRule:
    return RULES[(category, track if category == MENTOR_CATEGORY else None)]


def unmet_requirements(rule: RoleRule, roles: list[RefereeRole]) -> list[Requirement]:
    """The requirements left uncovered when each referee counts for at most one of them (best case)."""
    best: list[Requirement] = list(rule.required)
    slots = list(roles) + [None] * max(0, len(rule.required) - len(roles))
    for assignment in permutations(slots, len(rule.required)):
        unmet = [req for req, role in zip(rule.required, assignment) if role not in req.roles]
        if len(unmet) < len(best):
            best = unmet
    return best
