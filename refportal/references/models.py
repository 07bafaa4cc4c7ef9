from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from refportal.accounts.models import User
from refportal.applications.categories import Credential
from refportal.applications.models import Application
from refportal.db import Base, UTCDateTime, enum_column, utcnow
from refportal.documents.models import Document
from refportal.references import lifecycle
from refportal.references.lifecycle import ReferenceStatus
from refportal.references.rating_form import Recommendation
from refportal.references.roles import RefereeRole


class Reference(Base):
    __tablename__ = "reference"
    __table_args__ = (sa.Index("ix_reference_application_status", "application_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"))
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reference.id", ondelete="SET NULL"))
    # A request to reuse the rating this referee gave on an earlier application (the referee confirms
    # it with one button, or declines).
    reuses_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reference.id", ondelete="SET NULL"))

    name: Mapped[str] = mapped_column(sa.String(120))
    email: Mapped[str] = mapped_column(sa.String(254))
    organisation: Mapped[str] = mapped_column(sa.String(160))
    role: Mapped[RefereeRole] = mapped_column(enum_column(RefereeRole))
    setting: Mapped[str] = mapped_column(sa.String(200))  # where the referee knows the applicant from
    known_years: Mapped[Decimal] = mapped_column(sa.Numeric(4, 1))
    endorsed_credential: Mapped[Credential | None] = mapped_column(enum_column(Credential))
    endorsed_category: Mapped[int | None] = mapped_column(sa.SmallInteger)
    waived: Mapped[bool] = mapped_column(default=True)  # the applicant waived the right to see the content
    language: Mapped[str] = mapped_column(
        sa.String(8), default="en", server_default="en"
    )  # the referee's pages and e-mails

    status: Mapped[ReferenceStatus] = mapped_column(enum_column(ReferenceStatus), default=ReferenceStatus.NOMINATED)
    nominated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    draft_saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decline_reason: Mapped[str | None] = mapped_column(sa.String(1000))
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    auto_reminders_sent: Mapped[int] = mapped_column(default=0)

    # The link: signed over (id, nonce) with link_issued_at as its time; a new nonce revokes it.
    link_nonce: Mapped[str | None] = mapped_column(sa.String(64))
    link_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    draft: Mapped[dict | None] = mapped_column(sa.JSON)  # the referee's saved answers
    # Raised by every save of the draft: a save names the version it was made from, so a stale tab
    # cannot write over a newer draft.
    draft_version: Mapped[int] = mapped_column(default=0, server_default="0")

    application: Mapped[Application] = relationship(back_populates="references")
    rating: Mapped[Rating | None] = relationship(back_populates="reference", uselist=False)

    # The lifecycle's predicates (refportal.references.lifecycle), for services, views and templates.
    @property
    def can_remind(self) -> bool:
        return lifecycle.allows(self, lifecycle.Event.REMIND)

    @property
    def can_replace(self) -> bool:
        return lifecycle.allows(self, lifecycle.Event.REPLACE)

    @property
    def can_correct_email(self) -> bool:
        return lifecycle.allows(self, lifecycle.Event.CORRECT_EMAIL)

    @property
    def can_remove(self) -> bool:
        """A nomination not sent yet can simply be taken back."""
        return self.status is ReferenceStatus.NOMINATED

    @property
    def awaits_request(self) -> bool:
        """Nominated, not asked yet: "Send the requests" asks them."""
        return lifecycle.allows(self, lifecycle.Event.INVITE)

    @property
    def has_bounced(self) -> bool:
        return self.status is ReferenceStatus.BOUNCED

    @property
    def rating_not_counted(self) -> bool:
        """Submitted, but with too many "not enough information" answers to count."""
        return self.status is ReferenceStatus.SUBMITTED and not self.counts

    @property
    def accepts_rating(self) -> bool:
        """Asked and not answered: a rating may come in (from the referee, or entered by staff from their
        signed paper form)."""
        return lifecycle.allows(self, lifecycle.Event.SUBMIT)

    @property
    def applicant_may_read_content(self) -> bool:
        """The applicant sees every reference's status; its content (the rating, its signed form) only
        where they did not waive the right to see it."""
        return not self.waived

    @property
    def link_works(self) -> bool:
        return self.status in lifecycle.LINK_WORKS

    @property
    def is_awaiting_answer(self) -> bool:
        return self.status in lifecycle.AWAITING_ANSWER

    @property
    def has_ended(self) -> bool:
        """Withdrawn (replaced or corrected) or cancelled: no longer one of the application's three."""
        return self.status in lifecycle.ENDED

    @property
    def counts(self) -> bool:
        """A submitted rating with fewer than the limit of "not enough information" answers."""
        return self.status is ReferenceStatus.SUBMITTED and self.rating is not None and self.rating.counts


class RefereePageAccess(Base):
    """A referee's sign-in links to "My reference requests", per address: a new link raises `version`,
    which revokes the earlier ones."""

    __tablename__ = "referee_page_access"

    email: Mapped[str] = mapped_column(sa.String(254), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Rating(Base):
    """A submitted rating: written once, never changed."""

    __tablename__ = "rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference_id: Mapped[int] = mapped_column(sa.ForeignKey("reference.id", ondelete="CASCADE"), unique=True)
    form_version: Mapped[str] = mapped_column(sa.String(16))
    answers: Mapped[dict] = mapped_column(sa.JSON)  # item key -> "1".."5" or "na"
    not_enough_information: Mapped[int] = mapped_column()
    counts: Mapped[bool] = mapped_column()
    recommendation: Mapped[Recommendation] = mapped_column(enum_column(Recommendation))
    strengths: Mapped[str] = mapped_column(sa.Text)
    growth: Mapped[str] = mapped_column(sa.Text)
    for_reviewers: Mapped[str] = mapped_column(sa.Text, default="")
    relationship_role: Mapped[str] = mapped_column(sa.String(160))
    relationship_setting: Mapped[str] = mapped_column(sa.String(200))
    relationship_years: Mapped[Decimal] = mapped_column(sa.Numeric(4, 1))
    # The referee's own account of the relationship and of their endorsement (None on ratings given
    # before the form asked).
    referee_role: Mapped[RefereeRole | None] = mapped_column(enum_column(RefereeRole))
    endorsed_credential: Mapped[Credential | None] = mapped_column(enum_column(Credential))
    endorsed_category: Mapped[int | None] = mapped_column(sa.SmallInteger)
    endorsement_number: Mapped[str | None] = mapped_column(sa.String(40))
    attestation_name: Mapped[str] = mapped_column(sa.String(120))
    # When the referee gave it; a reused rating keeps the date of the one it copies.
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The earlier rating this one reuses (the referee confirmed it for a new application).
    reused_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rating.id", ondelete="SET NULL"))
    # A rating staff entered on the referee's behalf from the paper or PDF form the referee signed: who
    # entered it, and the signed form (kept in the document store).
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    signed_form_id: Mapped[int | None] = mapped_column(sa.ForeignKey("document.id", ondelete="SET NULL"))

    reference: Mapped[Reference] = relationship(back_populates="rating")
    reused_from: Mapped[Rating | None] = relationship(remote_side=[id])
    entered_by: Mapped[User | None] = relationship()
    signed_form: Mapped[Document | None] = relationship()

    @property
    def entered_by_staff(self) -> bool:
        return self.signed_form_id is not None or self.entered_by_id is not None
