from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from refportal.accounts.models import User
from refportal.db import Base, UTCDateTime, enum_column, utcnow


class Decision(enum.Enum):
    """What a reviewer recommends, and what is finally decided."""

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
        return self in (Decision.MORE_INFORMATION, Decision.DEFER)


class Review(Base):
    """One reviewer's recommendation on one application in one review cycle (a submission; a "more
    information" request opens the next)."""

    __tablename__ = "review"
    __table_args__ = (sa.UniqueConstraint("application_id", "reviewer_id", "round", name="uq_review_reviewer_round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    cycle: Mapped[int] = mapped_column("round")
    outcome: Mapped[Decision] = mapped_column(enum_column(Decision))
    notes: Mapped[str] = mapped_column(sa.Text, default="")  # for the other reviewers
    message: Mapped[str] = mapped_column(sa.Text, default="")  # for the applicant (feedback, what to add)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Reviews stay independent: once the reviewer has read another reviewer's review of this cycle, their
    # own is locked; an administrator may reopen it for one change (which locks it again).
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    reviewer: Mapped[User] = relationship()
    versions: Mapped[list[ReviewVersion]] = relationship(
        order_by="ReviewVersion.recorded_at", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def can_be_changed(self) -> bool:
        return self.locked_at is None

    @property
    def can_be_reopened(self) -> bool:
        return self.locked_at is not None


class ReviewVersion(Base):
    """What a review said before it was changed: every version stays in the file's history."""

    __tablename__ = "review_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[Decision] = mapped_column(enum_column(Decision))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    message: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when this version was recorded
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReviewRound(Base):
    """A review round: applications submitted from `opens_on` to `submission_deadline` (inclusive) join
    it; their reviews are due on `review_due`."""

    __tablename__ = "review_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    opens_on: Mapped[date] = mapped_column(sa.Date)
    submission_deadline: Mapped[date] = mapped_column(sa.Date, index=True)
    review_due: Mapped[date] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def is_overdue(self, today: date) -> bool:
        return today > self.review_due


class ReviewAssignment(Base):
    """A reviewer assigned to a file (by an administrator, or by auto-assign for a round)."""

    __tablename__ = "review_assignment"
    __table_args__ = (sa.UniqueConstraint("application_id", "reviewer_id", name="uq_review_assignment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    # The reviewer was told (in their round's digest e-mail) / reminded before the due date.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])


class Recusal(Base):
    """A reviewer's declared conflict of interest with a file, with their reason."""

    __tablename__ = "recusal"
    __table_args__ = (sa.UniqueConstraint("application_id", "reviewer_id", name="uq_recusal"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(sa.String(500))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    reviewer: Mapped[User] = relationship()


class ReviewFileProgress(Base):
    """Where a file stands in its round, as the rounds page counts it (reviews/progress.py keeps it): a
    row per application that is in a round and not withdrawn. No foreign key to the application: when one
    goes, its row must still say what to take off its round's tally."""

    __tablename__ = "review_file_progress"

    application_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("review_round.id", ondelete="CASCADE"), index=True)
    assignments: Mapped[int] = mapped_column()  # reviewers assigned
    reviews: Mapped[int] = mapped_column()  # reviews of its current cycle
    decided: Mapped[bool] = mapped_column()


class RoundTally(Base):
    """How many of a round's files have each combination of assignments, reviews of the current cycle and
    decision: the `review_file_progress` rows counted, kept as they change (reviews/progress.py). The
    rounds page sums a round's few rows, whatever the number of files; the threshold (REVIEWERS_PER_FILE)
    is applied when reading, so changing it needs no recount."""

    __tablename__ = "review_round_tally"

    round_id: Mapped[int] = mapped_column(
        sa.ForeignKey("review_round.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    assignments: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    reviews: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    decided: Mapped[bool] = mapped_column(primary_key=True, autoincrement=False)
    files: Mapped[int] = mapped_column()
