from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from refportal.accounts.models import User
from refportal.applications.categories import Credential, EducationLevel, MentorTrack, category_name
from refportal.applications.lifecycle import ACTIVE, EDITABLE, ApplicationStatus
from refportal.db import Base, UTCDateTime, enum_column, utcnow
from refportal.portfolio.models import Portfolio

if TYPE_CHECKING:
    from refportal.membership.models import MembershipDeclaration
    from refportal.references.models import Reference
    from refportal.reviews.models import ReviewRound


@dataclass(frozen=True)
class RecordedEligibility:
    """Education, experience and hours as the applicant recorded them."""

    education_level: EducationLevel
    work_years: Decimal
    training_hours: int
    rsc_hours: int


# An open (active) application, as stored: the partial index's condition ("status IN ('draft', ...)").
OPEN_STATUSES_SQL = "status IN (" + ", ".join(f"'{s.value}'" for s in ApplicationStatus if s in ACTIVE) + ")"


class EligibilitySource(enum.Enum):
    """Where an application's eligibility comes from: the totals the applicant typed (applications opened
    before evidence entries) or the entries of its portfolio (every application opened since)."""

    SELF_REPORTED = "self_reported"
    ENTRIES = "entries"


class Application(Base):
    __tablename__ = "application"
    __table_args__ = (
        sa.Index("ix_application_applicant_status", "applicant_id", "status"),
        # The queue's orders by creation (reviews.queue_query.SORTS); the orders by submission are below.
        sa.Index("ix_application_queue_created", "created_at", "id"),
        sa.Index("ix_application_queue_status_created", "status", "created_at", "id"),
        sa.Index("ix_application_queue_round_created", "review_round_id", "created_at", "id"),
        # At most one open reinstatement of an endorsement, however many requests race to open one.
        sa.Index(
            "uq_application_open_reinstatement",
            "reinstates_endorsement_id",
            unique=True,
            postgresql_where=sa.text(OPEN_STATUSES_SQL),
            sqlite_where=sa.text(OPEN_STATUSES_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    credential: Mapped[Credential] = mapped_column(enum_column(Credential))
    category: Mapped[int] = mapped_column(sa.SmallInteger)
    mentor_track: Mapped[MentorTrack | None] = mapped_column(enum_column(MentorTrack))
    status: Mapped[ApplicationStatus] = mapped_column(
        enum_column(ApplicationStatus), default=ApplicationStatus.DRAFT, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # When anything the API reports about the application last changed (its status, a reference's,
    # its membership's): the order of /api/v1/applications?changed_since (refportal.api.changes).
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the queue's order: indexes below
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_message: Mapped[str | None] = mapped_column(sa.Text)  # what the applicant was told
    # Reviews of one submission form a cycle; a "more information" request opens the next.
    review_cycle: Mapped[int] = mapped_column("review_round", default=1, server_default=sa.text("1"))
    # The review round the application joined when it was submitted (the round whose period covers
    # that day); None when no round covers it yet.
    review_round_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("review_round.id", ondelete="SET NULL"), index=True
    )
    # The lapsed endorsement this application reinstates (refportal.endorsements.reinstatement); None for
    # an ordinary application. (use_alter: the endorsement refers back to its application.)
    reinstates_endorsement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("endorsement.id", ondelete="SET NULL", use_alter=True), index=True
    )

    # Eligibility as the applicant recorded it; None until recorded.
    education_level: Mapped[EducationLevel | None] = mapped_column(enum_column(EducationLevel))
    work_years: Mapped[Decimal | None] = mapped_column(sa.Numeric(4, 1))
    training_hours: Mapped[int | None] = mapped_column()
    rsc_hours: Mapped[int | None] = mapped_column()
    employer: Mapped[str | None] = mapped_column(sa.String(160))  # where the applicant works now (optional)
    eligibility_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # 'entries': the columns above are the totals of the portfolio's entries, stored again whenever an entry
    # changes and when the file is submitted (the queue's SQL filter reads them); the checks read the entries.
    eligibility_source: Mapped[EligibilitySource] = mapped_column(
        enum_column(EligibilitySource), default=EligibilitySource.ENTRIES, server_default="entries"
    )
    portfolio_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("portfolio.id", ondelete="SET NULL"), unique=True
    )  # the evidence entries; created with the first entry

    applicant: Mapped[User] = relationship()
    membership: Mapped[MembershipDeclaration | None] = relationship(
        back_populates="application", uselist=False, cascade="all, delete-orphan"
    )
    references: Mapped[list[Reference]] = relationship(
        back_populates="application", cascade="all, delete-orphan", order_by="Reference.id"
    )
    review_round: Mapped[ReviewRound | None] = relationship()
    portfolio: Mapped[Portfolio | None] = relationship()

    @property
    def category_name(self) -> str:
        return category_name(self.credential, self.category, self.mentor_track)

    @property
    def is_reinstatement(self) -> bool:
        return self.reinstates_endorsement_id is not None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE

    @property
    def is_under_review(self) -> bool:
        """Submitted and awaiting a decision: reviewers review it, an administrator decides."""
        return self.status is ApplicationStatus.SUBMITTED

    def renews_on(self, months: int) -> date | None:
        """An endorsement's renewal date: `months` after the decision (the month's last day when that
        month is shorter); None for anything but an endorsement."""
        if self.status is not ApplicationStatus.ENDORSED or self.decided_at is None:
            return None
        decided = self.decided_at.date()
        year, month = divmod(decided.month - 1 + months, 12)
        year, month = decided.year + year, month + 1
        last_day = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
        return date(year, month, min(decided.day, last_day))

    @property
    def eligibility_recorded(self) -> bool:
        return self.eligibility_recorded_at is not None

    @property
    def from_entries(self) -> bool:
        """Its eligibility is read from its evidence entries (not from totals the applicant typed)."""
        return self.eligibility_source is EligibilitySource.ENTRIES

    @property
    def recorded_eligibility(self) -> RecordedEligibility | None:
        """What the applicant recorded for the eligibility check, or None before they did."""
        if (
            self.eligibility_recorded_at is None
            or self.education_level is None
            or self.work_years is None
            or self.training_hours is None
            or self.rsc_hours is None
        ):
            return None
        return RecordedEligibility(self.education_level, self.work_years, self.training_hours, self.rsc_hours)


# The queue's two orders by submission, each as one key without NULLs (a file never submitted goes last in
# both), so that a page after a row is one comparison of (key, id) read from one index: newest first reads
# (submitted_or_earliest, id) backwards, oldest first reads (submitted_or_latest, id) forwards. The
# stand-ins are written into the SQL (not bound), so the planner matches the indexes' expressions; they
# are the stored form of UTCDateTime on SQLite too (reviews.queue_query.EARLIEST and LATEST).
submitted_or_earliest = sa.func.coalesce(
    Application.submitted_at, sa.literal_column("'0001-01-01 00:00:00.000001'", UTCDateTime())
)
submitted_or_latest = sa.func.coalesce(
    Application.submitted_at, sa.literal_column("'9999-12-31 23:59:59.999999'", UTCDateTime())
)
# One index per order, and per order within a status and within a review round (the filters reviewers use
# most): a queue page, and the page after any row, cost the same at 1,000 and at 100,000 applications. (On
# PostgreSQL: SQLite, the tests' and development's database, cannot reflect an index on an expression.)
for name, columns in (
    ("ix_application_queue_newest", (submitted_or_earliest, Application.id)),
    ("ix_application_queue_oldest", (submitted_or_latest, Application.id)),
    ("ix_application_queue_status_newest", (Application.status, submitted_or_earliest, Application.id)),
    ("ix_application_queue_status_oldest", (Application.status, submitted_or_latest, Application.id)),
    ("ix_application_queue_round_newest", (Application.review_round_id, submitted_or_earliest, Application.id)),
    ("ix_application_queue_round_oldest", (Application.review_round_id, submitted_or_latest, Application.id)),
):
    sa.Index(name, *columns).ddl_if(dialect="postgresql")
