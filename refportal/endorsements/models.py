"""Endorsement records, their history, and each endorsee's registry listing choices."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from refportal.accounts.models import User
from refportal.applications.categories import Credential, MentorTrack, category_name
from refportal.db import Base, UTCDateTime, enum_column, utcnow
from refportal.endorsements.lifecycle import IN_FORCE, EndorsementStatus, Event, allows


class Endorsement(Base):
    """An endorsement granted by a decision: its number (random, so numbers do not enumerate
    endorsees), credential, category and current period."""

    __tablename__ = "endorsement"
    __table_args__ = (sa.Index("ix_endorsement_registry", "status", "credential", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(16), unique=True)
    holder_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    # The endorsed application (None for an endorsement that did not come through the portal's decisions).
    application_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("application.id", ondelete="SET NULL"), unique=True
    )
    credential: Mapped[Credential] = mapped_column(enum_column(Credential))
    category: Mapped[int] = mapped_column(sa.SmallInteger)
    mentor_track: Mapped[MentorTrack | None] = mapped_column(enum_column(MentorTrack))
    issued_on: Mapped[date] = mapped_column(sa.Date)
    # The current period: the endorsement is valid until period_ends_on (a renewal starts the next).
    period_starts_on: Mapped[date] = mapped_column(sa.Date)
    period_ends_on: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[EndorsementStatus] = mapped_column(enum_column(EndorsementStatus), default=EndorsementStatus.ACTIVE)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Indexed: the registry's Last-Modified is the latest of these (read from the index, at any size).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, index=True)

    holder: Mapped[User] = relationship()
    changes: Mapped[list[EndorsementChange]] = relationship(
        back_populates="endorsement", cascade="all, delete-orphan", order_by="EndorsementChange.changed_at"
    )

    @property
    def category_name(self) -> str:
        return category_name(self.credential, self.category, self.mentor_track)

    @property
    def is_in_force(self) -> bool:
        return self.status in IN_FORCE

    @property
    def can_be_reinstated(self) -> bool:
        """Lapsed: its holder may open a reinstatement (a new application with new ratings)."""
        return allows(self, Event.REINSTATE)

    @property
    def lapsed_at(self) -> datetime | None:
        """When it last lapsed (its history's latest change to lapsed), or None if it never did."""
        lapses = [change.changed_at for change in self.changes if change.status is EndorsementStatus.LAPSED]
        if not lapses and self.status is EndorsementStatus.LAPSED:
            return self.status_changed_at  # recorded without its history
        return max(lapses, default=None)


class EndorsementChange(Base):
    """One change of an endorsement's status (its issue first): the status it had on any past day."""

    __tablename__ = "endorsement_change"
    __table_args__ = (sa.Index("ix_endorsement_change_endorsement_at", "endorsement_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endorsement_id: Mapped[int] = mapped_column(sa.ForeignKey("endorsement.id", ondelete="CASCADE"))
    status: Mapped[EndorsementStatus] = mapped_column(enum_column(EndorsementStatus))
    event: Mapped[str] = mapped_column(sa.String(32))  # "issue", or the lifecycle Event's value
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    endorsement: Mapped[Endorsement] = relationship(back_populates="changes")


class RegistryListing(Base):
    """An endorsee's choices for the public registry. Without a row, REGISTRY_LISTED_BY_DEFAULT decides
    whether they are listed, and no city is shown."""

    __tablename__ = "registry_listing"

    holder_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    listed: Mapped[bool] = mapped_column()
    show_city: Mapped[bool] = mapped_column(default=False)
    city: Mapped[str | None] = mapped_column(sa.String(120))  # city or region, as the endorsee writes it
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, index=True)


class EndorsementNotice(Base):
    """One notice of the annual cycle sent to an endorsee (the renewal window open, a reminder, grace, the
    lapse): each kind at most once per endorsement and period."""

    __tablename__ = "endorsement_notice"
    __table_args__ = (sa.UniqueConstraint("endorsement_id", "period_ends_on", "kind", name="uq_endorsement_notice"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endorsement_id: Mapped[int] = mapped_column(sa.ForeignKey("endorsement.id", ondelete="CASCADE"))
    period_ends_on: Mapped[date] = mapped_column(sa.Date)
    kind: Mapped[str] = mapped_column(sa.String(32))  # e.g. "renewal_open", "reminder_7", "grace", "lapsed"
    sent_on: Mapped[date] = mapped_column(sa.Date)
