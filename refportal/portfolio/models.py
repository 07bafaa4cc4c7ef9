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
    education: Mapped[list[EducationEntry]] = relationship(
        back_populates="portfolio",
        cascade="all, delete-orphan",
        order_by="(EducationEntry.year_completed, EducationEntry.id)",
    )
    work: Mapped[list[WorkEntry]] = relationship(
        back_populates="portfolio", cascade="all, delete-orphan", order_by="(WorkEntry.starts_on, WorkEntry.id)"
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


class EducationEntry(Base):
    """A completed degree, diploma or credential. Its level is a name the owner defines and checks (an
    application's: the values of refportal.applications.categories.EducationLevel)."""

    __tablename__ = "education_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    portfolio_id: Mapped[int] = mapped_column(sa.ForeignKey("portfolio.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(sa.String(32))
    field_of_study: Mapped[str] = mapped_column(sa.String(200))
    institution: Mapped[str] = mapped_column(sa.String(200))
    year_completed: Mapped[int] = mapped_column(sa.SmallInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    portfolio: Mapped[Portfolio] = relationship(back_populates="education")


class WorkEntry(Base):
    """A stretch of work with young children and families; no end date while it goes on."""

    __tablename__ = "work_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    portfolio_id: Mapped[int] = mapped_column(sa.ForeignKey("portfolio.id", ondelete="CASCADE"), index=True)
    employer: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(200))
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)  # None: ongoing
    hours_per_week: Mapped[int] = mapped_column(sa.SmallInteger)
    serves_0_3: Mapped[bool] = mapped_column(default=False)  # children from birth to three and their families
    serves_3_6: Mapped[bool] = mapped_column(default=False)  # children from three up to six and their families
    description: Mapped[str | None] = mapped_column(sa.String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    portfolio: Mapped[Portfolio] = relationship(back_populates="work")

    @property
    def ongoing(self) -> bool:
        return self.ends_on is None
