from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from refportal.accounts.models import User
from refportal.db import Base, UTCDateTime, enum_column, utcnow


class Outcome(enum.Enum):
    """A reviewer's recommendation, and the final decision."""

    ENDORSE = "endorse"
    MORE_INFORMATION = "more_information"
    DEFER = "defer"
    DENY = "deny"

    @property
    def label(self) -> str:
        return {
            "endorse": "Endorse",
            "more_information": "Request more information",
            "defer": "Defer (with feedback)",
            "deny": "Deny",
        }[self.value]

    @property
    def needs_message(self) -> bool:
        """The applicant must be told what to add or improve."""
        return self in (Outcome.MORE_INFORMATION, Outcome.DEFER)


class Review(Base):
    """One reviewer's recommendation on one application in one review round."""

    __tablename__ = "review"
    __table_args__ = (sa.UniqueConstraint("application_id", "reviewer_id", "round", name="uq_review_reviewer_round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column()
    outcome: Mapped[Outcome] = mapped_column(enum_column(Outcome))
    notes: Mapped[str] = mapped_column(sa.Text, default="")  # for the other reviewers
    message: Mapped[str] = mapped_column(sa.Text, default="")  # for the applicant (feedback, what to add)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    reviewer: Mapped[User] = relationship()
