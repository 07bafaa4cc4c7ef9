"""Reviewers' item-by-item verdicts on an application's file: each requirement (education, work,
training, RSC, membership, ratings) verified, not verified, or in need of more from the applicant, with the
reason. Every verdict is kept; the latest of a requirement (its highest version) is its current one, and
it counts for the cycle it was recorded in (a "more information" request opens the next cycle, whose
file starts without verdicts: the earlier ones show as earlier). Recorded by reviews.verification; read
here by the applicant's pages and the completeness rule (lower layers than the reviews)."""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from refportal.accounts.models import User
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.db import Base, UTCDateTime, enum_column, utcnow
from refportal.extensions import db

REASON_MAX = 2000


class Requirement(enum.Enum):
    EDUCATION = "education"
    WORK = "work"
    TRAINING = "training"
    RSC = "rsc"
    MEMBERSHIP = "membership"
    RATINGS = "ratings"

    @property
    def label(self) -> str:
        return {
            "education": "Education",
            "work": "Work experience",
            "training": "In-service training",
            "rsc": "Reflective supervision/consultation",
            "membership": "Membership",
            "ratings": "Ratings",
        }[self.value]

    @property
    def checklist_label(self) -> str:
        """The completeness checklist item the requirement belongs to."""
        return {"membership": "Membership", "ratings": "References"}.get(self.value, "Eligibility")


class Verdict(enum.Enum):
    VERIFIED = "verified"
    NOT_VERIFIED = "not_verified"
    NEEDS_MORE = "needs_more"

    @property
    def label(self) -> str:
        return {"verified": "Verified", "not_verified": "Not verified", "needs_more": "Needs more"}[self.value]

    @property
    def needs_reason(self) -> bool:
        return self is not Verdict.VERIFIED


OPEN = (Verdict.NOT_VERIFIED, Verdict.NEEDS_MORE)  # the verdicts that ask something of the applicant


class RequirementVerdict(Base):
    """One reviewer's verdict on one requirement of a file; a later one (the next version) replaces it."""

    __tablename__ = "requirement_verdict"
    __table_args__ = (
        sa.UniqueConstraint("application_id", "requirement", "version", name="uq_requirement_verdict_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    requirement: Mapped[Requirement] = mapped_column(enum_column(Requirement))
    version: Mapped[int] = mapped_column()  # 1, 2, … per application and requirement
    cycle: Mapped[int] = mapped_column()  # the application's review cycle when it was recorded
    verdict: Mapped[Verdict] = mapped_column(enum_column(Verdict))
    reason: Mapped[str] = mapped_column(sa.String(REASON_MAX), default="")
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    reviewer: Mapped[User | None] = relationship()


def latest_clause() -> sa.ColumnElement[bool]:
    """The RequirementVerdict row is the latest of its application and requirement (no higher version exists)."""
    newer = aliased(RequirementVerdict)
    return ~sa.exists().where(
        newer.application_id == RequirementVerdict.application_id,
        newer.requirement == RequirementVerdict.requirement,
        newer.version > RequirementVerdict.version,
    )


def current_verdicts(application_id: int) -> dict[Requirement, RequirementVerdict]:
    """Each requirement's latest verdict (of any cycle) with its reviewer, by requirement: one statement."""
    rows = db.session.scalars(_current_verdicts_statement(), {"application_id": application_id})
    return {row.requirement: row for row in rows}


@functools.cache
def _current_verdicts_statement() -> sa.Select:
    """current_verdicts' statement, built once: a request binds the application."""
    return (
        sa.select(RequirementVerdict)
        .where(RequirementVerdict.application_id == sa.bindparam("application_id"), latest_clause())
        .options(sa.orm.joinedload(RequirementVerdict.reviewer))
    )


@dataclass(frozen=True)
class OpenItem:
    """A requirement the applicant is asked about: only the requirement and the reason (nothing else of
    the review)."""

    requirement: Requirement
    verdict: Verdict
    reason: str


def open_items(application: Application, cycle: int) -> list[OpenItem]:
    """The requirements whose latest verdict, recorded in `cycle`, is not verified or needs more."""
    return open_items_of(current_verdicts(application.id), cycle)


def open_items_of(current: Mapping[Requirement, RequirementVerdict], cycle: int) -> list[OpenItem]:
    """`open_items` from the current verdicts (as current_verdicts gives them)."""
    return [
        OpenItem(requirement, row.verdict, row.reason)
        for requirement in Requirement
        if (row := current.get(requirement)) is not None and row.cycle == cycle and row.verdict in OPEN
    ]


def requested_items(application: Application) -> list[OpenItem]:
    """What the last "more information" request asked for, while the application is open again for it."""
    if not asks_for_items(application):
        return []
    return open_items(application, application.review_cycle - 1)


def asks_for_items(application: Application) -> bool:
    """Whether the application is open again for a "more information" request (its items are those of
    the cycle before: `open_items_of(current, application.review_cycle - 1)`)."""
    return application.status is ApplicationStatus.MORE_INFO_REQUESTED


def open_verdict_exists() -> sa.ColumnElement[bool]:
    """The application (correlated) has a current verdict of its current cycle that is not verified or
    needs more: `open_items(application, application.review_cycle)` is not empty, in SQL."""
    return (
        sa.exists()
        .where(
            RequirementVerdict.application_id == Application.id,
            RequirementVerdict.cycle == Application.review_cycle,
            RequirementVerdict.verdict.in_(OPEN),
            latest_clause(),
        )
        .correlate(Application)
    )


def all_verified_clause() -> sa.ColumnElement[bool]:
    """Every requirement's current verdict, of the application's current cycle, is "verified"."""
    verified = (
        sa.select(sa.func.count(RequirementVerdict.id))
        .where(
            RequirementVerdict.application_id == Application.id,
            RequirementVerdict.cycle == Application.review_cycle,
            RequirementVerdict.verdict == Verdict.VERIFIED,
            latest_clause(),
        )
        .correlate(Application)
        .scalar_subquery()
    )
    return verified == len(Requirement)
