"""A portfolio and its entries."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from refportal.db import Base, UTCDateTime, enum_column, utcnow

HOURS = sa.Numeric(6, 2)  # hours to the quarter (0.25), up to 9,999.75


class Portfolio(Base):
    """The evidence one renewal (or one application) brings."""

    __tablename__ = "portfolio"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    training: Mapped[list[TrainingEntry]] = relationship(
        back_populates="portfolio", cascade="all, delete-orphan", order_by="(TrainingEntry.taken_on, TrainingEntry.id)"
    )
    rsc: Mapped[list[RscEntry]] = relationship(
        back_populates="portfolio", cascade="all, delete-orphan", order_by="(RscEntry.starts_on, RscEntry.id)"
    )


class TrainingEntry(Base):
    """In-service, relationship-based training: a course, workshop or conference session."""

    __tablename__ = "training_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    portfolio_id: Mapped[int] = mapped_column(sa.ForeignKey("portfolio.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    provider: Mapped[str] = mapped_column(sa.String(200))
    taken_on: Mapped[date] = mapped_column(sa.Date)
    hours: Mapped[Decimal] = mapped_column(HOURS)
    about_rsc: Mapped[bool] = mapped_column(default=False)  # on reflective supervision/consultation
    about_dei: Mapped[bool] = mapped_column(default=False)  # on diversity, equity and inclusion
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    portfolio: Mapped[Portfolio] = relationship(back_populates="training")


class RscFormat(enum.Enum):
    INDIVIDUAL = "individual"
    GROUP = "group"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class RscEntry(Base):
    """Reflective supervision/consultation received from one provider over a stretch of dates."""

    __tablename__ = "rsc_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    portfolio_id: Mapped[int] = mapped_column(sa.ForeignKey("portfolio.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(sa.String(200))
    provider_credential: Mapped[str | None] = mapped_column(sa.String(120))  # e.g. "IMH-E Mentor–Clinical"
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)
    hours: Mapped[Decimal] = mapped_column(HOURS)
    format: Mapped[RscFormat] = mapped_column(enum_column(RscFormat))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    portfolio: Mapped[Portfolio] = relationship(back_populates="rsc")
