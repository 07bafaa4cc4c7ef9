"""The credentials, their four categories, mentor tracks and education levels (domain.md)."""

from __future__ import annotations

import enum

CATEGORIES = (1, 2, 3, 4)
MENTOR_CATEGORY = 4


class Credential(enum.Enum):
    IMH_E = "imh-e"
    ECMH_E = "ecmh-e"

    @property
    def label(self) -> str:
        return CREDENTIAL_LABELS[self]

    @property
    def short(self) -> str:
        return "IMH-E" if self is Credential.IMH_E else "ECMH-E"

    @property
    def other(self) -> Credential:
        return Credential.ECMH_E if self is Credential.IMH_E else Credential.IMH_E


CREDENTIAL_LABELS = {
    Credential.IMH_E: "Infant Mental Health Endorsement (IMH-E), for work with children 0–3 and their families",
    Credential.ECMH_E: "Early Childhood Mental Health Endorsement (ECMH-E), for work with children 3 up to 6",
}

CATEGORY_NAMES = {
    Credential.IMH_E: {
        1: "Infant Family Associate",
        2: "Infant Family Specialist",
        3: "Infant Mental Health Specialist",
        4: "Infant Mental Health Mentor",
    },
    Credential.ECMH_E: {
        1: "Early Childhood Family Associate",
        2: "Early Childhood Family Specialist",
        3: "Early Childhood Mental Health Specialist",
        4: "Early Childhood Mental Health Mentor",
    },
}


class MentorTrack(enum.Enum):
    CLINICAL = "clinical"
    POLICY = "policy"
    RESEARCH = "research"

    @property
    def label(self) -> str:
        return {"clinical": "Clinical", "policy": "Policy", "research": "Research/Faculty"}[self.value]


class EducationLevel(enum.Enum):
    """Highest completed education, in increasing order."""

    HIGH_SCHOOL = "high_school"
    CDA = "cda"
    ASSOCIATE = "associate"
    BACHELOR = "bachelor"
    MASTER = "master"
    DOCTORATE = "doctorate"

    @property
    def rank(self) -> int:
        return list(EducationLevel).index(self)

    @property
    def label(self) -> str:
        return EDUCATION_LABELS[self]


EDUCATION_LABELS = {
    EducationLevel.HIGH_SCHOOL: "High school diploma or equivalent",
    EducationLevel.CDA: "Child Development Associate (CDA) credential",
    EducationLevel.ASSOCIATE: "Associate's degree",
    EducationLevel.BACHELOR: "Bachelor's degree",
    EducationLevel.MASTER: "Master's degree",
    EducationLevel.DOCTORATE: "Doctorate",
}


def category_name(credential: Credential, category: int, track: MentorTrack | None = None) -> str:
    """The category's name for that credential, with the mentor track where there is one."""
    name = CATEGORY_NAMES[credential][category]
    if category == MENTOR_CATEGORY and track is not None:
        name = f"{name} – {track.label}"
    return name
