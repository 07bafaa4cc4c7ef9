"""The public registry: who is listed, the search, the export, and an endorsement's verification.

Privacy rules, in one place: an entry is listed only while its endorsement is in force and its holder
agreed to be listed (REGISTRY_LISTED_BY_DEFAULT where they have not chosen); an entry shows the name,
credential, category, status and the date it is valid until, and the city or region only where the
holder chose to show it. A verification page names its holder only when the entry is listed; otherwise
it says only whether the endorsement is valid today, with its period."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import User
from refportal.applications.categories import Credential, MentorTrack, category_name
from refportal.endorsements.lifecycle import IN_FORCE, EndorsementStatus
from refportal.endorsements.models import Endorsement, RegistryListing
from refportal.extensions import db


@dataclass(frozen=True)
class RegistrySearch:
    """What an employer searches by (empty: everything)."""

    name: str = ""
    credential: Credential | None = None
    category: int | None = None
    place: str = ""


@dataclass(frozen=True)
class RegistryEntry:
    number: str
    name: str
    credential: Credential
    category: int
    mentor_track: MentorTrack | None
    status: EndorsementStatus
    valid_until: date
    city: str | None  # only where the holder chose to show it

    @property
    def category_name(self) -> str:
        return category_name(self.credential, self.category, self.mentor_track)

    def as_dict(self) -> dict[str, object]:
        """The entry as the export and the API give it (the same fields as the page; the date ISO 8601 there)."""
        return {
            "number": self.number,
            "name": self.name,
            "credential": self.credential.short,
            "category": self.category,
            "category_name": self.category_name,
            "status": self.status.value,
            "valid_until": self.valid_until,
            "city": self.city,
        }


@dataclass(frozen=True)
class RegistryPage:
    entries: list[RegistryEntry]
    page: int
    has_next: bool


def _is_listed() -> sa.ColumnElement[bool]:
    """The holder agreed to be listed (or has not chosen and the default lists them). Needs the outer
    join on RegistryListing."""
    if current_app.config["REGISTRY_LISTED_BY_DEFAULT"]:
        return sa.or_(RegistryListing.listed.is_(None), RegistryListing.listed.is_(True))
    return RegistryListing.listed.is_(True)


def _shown_city() -> sa.ColumnElement[str | None]:
    return sa.case((RegistryListing.show_city.is_(True), RegistryListing.city), else_=None)


def _entries() -> sa.Select:
    """Every listed entry: in force, holder listed and active."""
    return (
        sa.select(
            Endorsement.number,
            User.name,
            Endorsement.credential,
            Endorsement.category,
            Endorsement.mentor_track,
            Endorsement.status,
            Endorsement.period_ends_on.label("valid_until"),
            _shown_city().label("city"),
        )
        .join(User, User.id == Endorsement.holder_id)
        .outerjoin(RegistryListing, RegistryListing.holder_id == Endorsement.holder_id)
        .where(Endorsement.status.in_(IN_FORCE), _is_listed(), User.deactivated_at.is_(None))
    )


def _filtered(search: RegistrySearch) -> sa.Select:
    statement = _entries()
    if search.name:
        statement = statement.where(contains_text(sa.func.lower(User.name), search.name))
    if search.credential is not None:
        statement = statement.where(Endorsement.credential == search.credential)
    if search.category is not None:
        statement = statement.where(Endorsement.category == search.category)
    if search.place:
        # Only a city the holder chose to show can be searched by.
        statement = statement.where(
            RegistryListing.show_city.is_(True),
            contains_text(sa.func.lower(RegistryListing.city), search.place),
        )
    return statement.order_by(User.name, Endorsement.number)


def contains_text(lowered: sa.ColumnElement[str], text: str) -> sa.ColumnElement[bool]:
    """`lowered` (lower() of a column, the very expression of its trigram index on PostgreSQL) contains
    `text`, case-insensitively: one LIKE pattern, built here, so the planner sees the whole pattern and
    reads the index (ix_user_account_name_trgm, ix_registry_listing_city_trgm)."""
    escaped = text.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
    return lowered.like(f"%{escaped}%", escape="/")


def page_statement(search: RegistrySearch, *, page: int, page_size: int) -> sa.Select:
    """The statement of one page (and one entry more, to know whether a next page exists). Unfiltered, it
    is read in the order of ix_user_account_name (name, id), each name's entries sorted by number as they
    come; a search by name or place reads the trigram indexes (tests/endorsements/test_registry_scale.py)."""
    return _filtered(search).limit(page_size + 1).offset((page - 1) * page_size)


def search_registry(search: RegistrySearch, *, page: int, page_size: int) -> RegistryPage:
    """One page of listed entries matching the search, by name: one statement, whatever the registry's size."""
    rows = db.session.execute(page_statement(search, page=page, page_size=page_size)).all()
    entries = [_entry(row) for row in rows[:page_size]]
    return RegistryPage(entries=entries, page=page, has_next=len(rows) > page_size)


EXPORT_BATCH = 500  # rows fetched at a time


def export_registry() -> Iterator[RegistryEntry]:
    """Every listed entry, by name (the export for the association's website): one statement whose rows are
    fetched EXPORT_BATCH at a time (a server-side cursor on PostgreSQL)."""
    for row in db.session.execute(_filtered(RegistrySearch()).execution_options(yield_per=EXPORT_BATCH)):
        yield _entry(row)


def _entry(row: sa.Row[Any]) -> RegistryEntry:
    return RegistryEntry(**row._mapping)


def registry_changed_at(today: date) -> datetime:
    """The last moment anything the registry shows may have changed: the latest change of an endorsement
    or a listing, and at least the start of today (validity is as of the day)."""
    latest = db.session.execute(
        sa.select(
            sa.func.max(Endorsement.updated_at), sa.select(sa.func.max(RegistryListing.updated_at)).scalar_subquery()
        )
    ).one()
    return _latest(today, *latest)


def _latest(today: date, *moments: datetime | None) -> datetime:
    start_of_day = datetime.combine(today, time(), tzinfo=UTC)
    return max([start_of_day, *(_aware(m) for m in moments if m is not None)])


def _aware(moment: datetime) -> datetime:
    # An aggregate (max) comes back without the column type's conversion to aware UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Verification:
    """What the verification page of one endorsement says."""

    number: str
    valid: bool
    period_starts_on: date
    period_ends_on: date
    entry: RegistryEntry | None  # the listed entry; None for a holder who is not listed
    changed_at: datetime


def verify(number: str, today: date) -> Verification | None:
    """The verification of the endorsement with this number, or None when there is none."""
    row = db.session.execute(
        sa.select(Endorsement, User.name, _shown_city(), _is_listed(), User.deactivated_at, RegistryListing.updated_at)
        .join(User, User.id == Endorsement.holder_id)
        .outerjoin(RegistryListing, RegistryListing.holder_id == Endorsement.holder_id)
        .where(Endorsement.number == number)
    ).one_or_none()
    if row is None:
        return None
    endorsement, name, city, listed, deactivated_at, listing_changed_at = row
    valid = endorsement.is_in_force
    entry = None
    if valid and listed and deactivated_at is None:
        entry = RegistryEntry(
            number=endorsement.number,
            name=name,
            credential=endorsement.credential,
            category=endorsement.category,
            mentor_track=endorsement.mentor_track,
            status=endorsement.status,
            valid_until=endorsement.period_ends_on,
            city=city,
        )
    return Verification(
        number=endorsement.number,
        valid=valid,
        period_starts_on=endorsement.period_starts_on,
        period_ends_on=endorsement.period_ends_on,
        entry=entry,
        changed_at=_latest(today, endorsement.updated_at, listing_changed_at),
    )
