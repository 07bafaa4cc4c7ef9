from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from refportal.db import Base, UTCDateTime, enum_column, utcnow

if TYPE_CHECKING:
    from refportal.applications.models import Application


class Association(enum.Enum):
    INFANCY_ONWARD = "infancy_onward"
    WAIMH = "waimh"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "infancy_onward": "INfancy Onward",
            "waimh": "World Association for Infant Mental Health (WAIMH)",
            "other": "Another infant mental health association",
        }[self.value]


class MembershipKind(enum.Enum):
    CURRENT_MEMBER = "current_member"
    WILL_JOIN = "will_join"  # the membership fee is added to the application's fees


class VerificationSource(enum.Enum):
    REVIEWER = "reviewer"
    ROSTER = "roster"


class MembershipStatus(enum.Enum):
    DECLARED = "declared"
    VERIFIED = "verified"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class MembershipDeclaration(Base):
    __tablename__ = "membership_declaration"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("application.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[MembershipKind] = mapped_column(enum_column(MembershipKind))
    association: Mapped[Association] = mapped_column(enum_column(Association))
    association_name: Mapped[str | None] = mapped_column(sa.String(120))  # when `association` is OTHER
    member_number: Mapped[str | None] = mapped_column(sa.String(40))
    expires_on: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[MembershipStatus] = mapped_column(enum_column(MembershipStatus), default=MembershipStatus.DECLARED)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verification_note: Mapped[str | None] = mapped_column(sa.String(500))
    verification_source: Mapped[VerificationSource | None] = mapped_column(enum_column(VerificationSource))

    application: Mapped[Application] = relationship(back_populates="membership")

    @property
    def association_label(self) -> str:
        if self.association is Association.OTHER and self.association_name:
            return self.association_name
        return self.association.label

    def status_on(self, today: date) -> MembershipStatus:
        """The status as of `today`: a declared or verified membership lapses on its expiry date."""
        if (
            self.status in (MembershipStatus.DECLARED, MembershipStatus.VERIFIED)
            and self.expires_on is not None
            and self.expires_on < today
        ):
            return MembershipStatus.EXPIRED
        return self.status

    @classmethod
    def status_on_is(cls, wanted: MembershipStatus, today: date) -> sa.ColumnElement[bool]:
        """`status_on(today) is wanted`, in SQL (a declaration left out by an outer join matches none)."""
        lapsed = sa.and_(cls.expires_on.is_not(None), cls.expires_on < today)
        current_states = (MembershipStatus.DECLARED, MembershipStatus.VERIFIED)
        if wanted is MembershipStatus.EXPIRED:
            return sa.or_(cls.status == MembershipStatus.EXPIRED, sa.and_(cls.status.in_(current_states), lapsed))
        if wanted in current_states:
            return sa.and_(cls.status == wanted, sa.not_(lapsed))
        return cls.status == wanted

    def is_current_on(self, today: date) -> bool:
        """A current individual membership: the membership fee is not owed."""
        return self.kind is MembershipKind.CURRENT_MEMBER and self.status_on(today) in (
            MembershipStatus.DECLARED,
            MembershipStatus.VERIFIED,
        )
