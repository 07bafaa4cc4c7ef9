"""Endorsement records, their history, and each endorsee's registry listing choices."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from refportal.accounts.models import TAIL_LENGTH, User, name_tails
from refportal.applications.categories import Credential, MentorTrack, category_name
from refportal.db import Base, UTCDateTime, enum_column, utcnow
from refportal.endorsements.lifecycle import IN_FORCE, EndorsementStatus, Event, allows
from refportal.membership.models import Association, MembershipStatus, VerificationSource
from refportal.portfolio.models import Portfolio


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


# The registry's search by part of a city (lower(city) LIKE '%term%'): trigrams, on PostgreSQL.
sa.Index(
    "ix_registry_listing_city_trgm",
    sa.func.lower(RegistryListing.city).label("city_lower"),
    postgresql_using="gin",
    postgresql_ops={"city_lower": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")


# Byte order on PostgreSQL (the order of SQLite's strings too): a prefix's matches are one range of an index.
TAIL_TYPE = sa.String(TAIL_LENGTH).with_variant(sa.String(TAIL_LENGTH, collation="C"), "postgresql")
# The columns after the searched ones in every index of the tails: the results' order (the matched words,
# the name, the holder, the number), so a search reads its range in that order and stops once its page is full.
RESULT_ORDER = ("tail", "name", "holder_id", "number")


class RegistryNameTail(Base):
    """An endorsement's holder's name from one of its words on, as `name_tails` gives them ("adaeze okafor"
    and "okafor" for Adaeze Okafor), beside what the registry's search filters and orders by: the name,
    the holder, the endorsement's number, credential and category (which an endorsement keeps for life).
    The search by the start of a name or of any later word reads the matching tails of one index in the
    order of its results: ix_registry_name_tail_search, or with a credential, a category or both the index
    that begins with them, so a rare combination is read as one range too. Only endorsements have tails:
    accounts without one are never read. Written when an endorsement is stored, rewritten when its holder's
    name (or what they copy of the endorsement) changes, deleted with their endorsement (the mapper events
    below, for changes made through the ORM)."""

    __tablename__ = "registry_name_tail"
    __table_args__ = (
        sa.Index("ix_registry_name_tail_search", *RESULT_ORDER),
        sa.Index("ix_registry_name_tail_credential", "credential", *RESULT_ORDER),
        sa.Index("ix_registry_name_tail_category", "category", *RESULT_ORDER),
        sa.Index("ix_registry_name_tail_credential_category", "credential", "category", *RESULT_ORDER),
        sa.Index("ix_registry_name_tail_endorsement", "endorsement_id", "position"),
        sa.Index("ix_registry_name_tail_holder_id", "holder_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endorsement_id: Mapped[int] = mapped_column(sa.ForeignKey("endorsement.id", ondelete="CASCADE"))
    holder_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(sa.SmallInteger)  # the word's place in the name, from 0
    tail: Mapped[str] = mapped_column(TAIL_TYPE)
    name: Mapped[str] = mapped_column(sa.String(120))  # the holder's name
    number: Mapped[str] = mapped_column(sa.String(16))
    credential: Mapped[Credential] = mapped_column(enum_column(Credential))
    category: Mapped[int] = mapped_column(sa.SmallInteger)


# A histogram of a thousand buckets (PostgreSQL's default: a hundred): a prefix's range is estimated from
# the buckets it spans, so a range under one bucket's rows may be taken for a single row; the planner then
# sorts every match instead of walking the index in order. With a thousand, that is at most a thousandth of
# the tails (the migration sets the same).
STATISTICS_TARGET = 1000
sa.event.listen(
    RegistryNameTail.__table__,
    "after_create",
    sa.DDL(f"ALTER TABLE registry_name_tail ALTER COLUMN tail SET STATISTICS {STATISTICS_TARGET}").execute_if(
        dialect="postgresql"
    ),
)


def name_tail_rows(endorsements: Iterable[Any], name: str) -> list[dict[str, object]]:
    """The registry_name_tail rows of these endorsements (anything with their id, holder_id, number,
    credential and category) held under `name`."""
    return [
        {
            "endorsement_id": endorsement.id,
            "holder_id": endorsement.holder_id,
            "position": position,
            "tail": tail,
            "name": name,
            "number": endorsement.number,
            "credential": endorsement.credential,
            "category": endorsement.category,
        }
        for endorsement in endorsements
        for position, tail in enumerate(name_tails(name))
    ]


def _write_name_tails(connection: sa.Connection, endorsements: Iterable[Any], name: str) -> None:
    rows = name_tail_rows(endorsements, name)
    if rows:
        connection.execute(sa.insert(RegistryNameTail), rows)


@sa.event.listens_for(Endorsement, "after_insert")
def _tails_of_a_new_endorsement(_mapper: object, connection: sa.Connection, endorsement: Endorsement) -> None:
    name = connection.scalar(sa.select(User.name).where(User.id == endorsement.holder_id))
    if name is not None:
        _write_name_tails(connection, [endorsement], name)


# What an endorsement's tails copy of it (an endorsement keeps them for life; should one change, its tails follow).
COPIED_INTO_TAILS = ("holder_id", "number", "credential", "category")


@sa.event.listens_for(Endorsement, "after_update")
def _tails_of_a_changed_endorsement(_mapper: object, connection: sa.Connection, endorsement: Endorsement) -> None:
    state = sa.inspect(endorsement)
    if any(state.attrs[key].history.has_changes() for key in COPIED_INTO_TAILS):
        connection.execute(sa.delete(RegistryNameTail).where(RegistryNameTail.endorsement_id == endorsement.id))
        _tails_of_a_new_endorsement(_mapper, connection, endorsement)


@sa.event.listens_for(Endorsement, "after_delete")
def _tails_of_a_deleted_endorsement(_mapper: object, connection: sa.Connection, endorsement: Endorsement) -> None:
    # The foreign key's ON DELETE CASCADE, where SQLite does not enforce it.
    connection.execute(sa.delete(RegistryNameTail).where(RegistryNameTail.endorsement_id == endorsement.id))


@sa.event.listens_for(User, "after_update")
def _tails_of_a_renamed_holder(_mapper: object, connection: sa.Connection, user: User) -> None:
    if not sa.inspect(user).attrs.name.history.has_changes():
        return
    stored = connection.scalars(sa.select(RegistryNameTail.name).where(RegistryNameTail.holder_id == user.id)).all()
    if stored and set(stored) == {user.name}:
        return  # saved again as it was (the old name was not loaded, so the history could not tell)
    connection.execute(sa.delete(RegistryNameTail).where(RegistryNameTail.holder_id == user.id))
    held = connection.execute(
        sa.select(
            Endorsement.id, Endorsement.holder_id, Endorsement.number, Endorsement.credential, Endorsement.category
        ).where(Endorsement.holder_id == user.id)
    ).all()
    _write_name_tails(connection, held, user.name)


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


class RenewalStatus(enum.Enum):
    DRAFT = "draft"  # the endorsee is filling it in
    SUBMITTED = "submitted"  # waiting for staff
    MORE_REQUESTED = "more_requested"  # staff asked for more; the endorsee may edit and submit again
    APPROVED = "approved"  # the endorsement has its next period
    REFUSED = "refused"

    @property
    def label(self) -> str:
        return {"more_requested": "More information requested"}.get(self.value, self.value.capitalize())


class Renewal(Base):
    """One year's renewal of an endorsement: the membership, the year's training and RSC (its portfolio),
    the attestations signed, and staff's decision. At most one per endorsement and period."""

    __tablename__ = "endorsement_renewal"
    __table_args__ = (
        sa.UniqueConstraint("endorsement_id", "period_ends_on", name="uq_endorsement_renewal_period"),
        sa.Index("ix_endorsement_renewal_status", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endorsement_id: Mapped[int] = mapped_column(sa.ForeignKey("endorsement.id", ondelete="CASCADE"))
    # The period this renewal renews (its last day); approval starts the next one the day after.
    period_ends_on: Mapped[date] = mapped_column(sa.Date)
    portfolio_id: Mapped[int] = mapped_column(sa.ForeignKey("portfolio.id"), unique=True)
    status: Mapped[RenewalStatus] = mapped_column(enum_column(RenewalStatus), default=RenewalStatus.DRAFT)
    # Raised by every change: a change made from an older page is refused (two tabs).
    version: Mapped[int] = mapped_column(default=1)
    provides_rsc: Mapped[bool] = mapped_column(default=False)  # the endorsee provides RSC to others
    # The membership the endorsee holds for the next period, as declared, and its verification.
    association: Mapped[Association | None] = mapped_column(enum_column(Association))
    association_name: Mapped[str | None] = mapped_column(sa.String(120))  # when `association` is OTHER
    member_number: Mapped[str | None] = mapped_column(sa.String(40))
    membership_expires_on: Mapped[date | None] = mapped_column(sa.Date)
    membership_status: Mapped[MembershipStatus] = mapped_column(
        enum_column(MembershipStatus), default=MembershipStatus.DECLARED
    )
    membership_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    membership_verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    membership_verification_source: Mapped[VerificationSource | None] = mapped_column(enum_column(VerificationSource))
    membership_note: Mapped[str | None] = mapped_column(sa.String(500))
    # The attestations signed (their keys, as ENDORSEMENT_RENEWAL_ATTESTATIONS names them), with the time.
    attestations: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    attested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    late: Mapped[bool] = mapped_column(default=False)  # submitted after the period ended: the late fee is owed
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="SET NULL"))
    # What staff asked for, or why they refused: shown to the endorsee.
    staff_message: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    endorsement: Mapped[Endorsement] = relationship()
    portfolio: Mapped[Portfolio] = relationship()

    @property
    def association_label(self) -> str:
        if self.association is Association.OTHER and self.association_name:
            return self.association_name
        return self.association.label if self.association else "—"

    @property
    def is_editable(self) -> bool:
        """The endorsee may still change it (a draft, or sent back for more)."""
        return self.status in (RenewalStatus.DRAFT, RenewalStatus.MORE_REQUESTED)

    @property
    def is_waiting_for_staff(self) -> bool:
        return self.status is RenewalStatus.SUBMITTED
