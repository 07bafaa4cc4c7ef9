"""The public registry: who is listed, the search, the export, and an endorsement's verification.

Privacy rules, in one place: an entry is listed only while its endorsement is in force and its holder
agreed to be listed (REGISTRY_LISTED_BY_DEFAULT where they have not chosen); an entry shows the name,
credential, category, status and the date it is valid until, and the city or region only where the
holder chose to show it. A verification page names its holder only when the entry is listed; otherwise
it says only whether the endorsement is valid today, with its period."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import User, searchable
from refportal.applications.categories import Credential, MentorTrack, category_name
from refportal.endorsements.lifecycle import IN_FORCE, EndorsementStatus
from refportal.endorsements.models import RESULT_ORDER, Endorsement, RegistryListing, RegistryNameTail
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
    # The latest change of an endorsement or a listing, read with the page (None: nothing recorded yet);
    # changed_at(today, page.latest_change) is the page's Last-Modified.
    latest_change: datetime | None = None


def _is_listed(listed_by_default: bool) -> sa.ColumnElement[bool]:
    """The holder agreed to be listed (or has not chosen and the default, REGISTRY_LISTED_BY_DEFAULT, lists
    them). Needs the outer join on RegistryListing."""
    if listed_by_default:
        return sa.or_(RegistryListing.listed.is_(None), RegistryListing.listed.is_(True))
    return RegistryListing.listed.is_(True)


def _shown_city() -> sa.ColumnElement[str | None]:
    return sa.case((RegistryListing.show_city.is_(True), RegistryListing.city), else_=None)


class _Shape(NamedTuple):
    """What a search's statement depends on (its values are parameters): each shape is built once."""

    name: bool
    credential: bool
    category: bool
    place: bool
    listed_by_default: bool


def _shape(search: RegistrySearch) -> _Shape:
    return _Shape(
        name=bool(searchable(search.name)),
        credential=search.credential is not None,
        category=search.category is not None,
        place=bool(search.place),
        listed_by_default=current_app.config["REGISTRY_LISTED_BY_DEFAULT"],
    )


def _parameters(search: RegistrySearch) -> dict[str, object]:
    name = searchable(search.name)
    found: dict[str, object] = {"name": name, "name_end": after_every_extension(name) if name else ""}
    return {**found, "place": like_pattern(search.place), "credential": search.credential, "category": search.category}


def after_every_extension(prefix: str) -> str:
    """The first string, in code point order (the order of the name tails' indexes), above every string
    that begins with `prefix`: its last character moved on by one ("okafor" gives "okafos"), as PostgreSQL
    bounds a LIKE prefix itself (the planner estimates the range from its statistics, which a bound past
    every character, U+10FFFF, would throw)."""
    last = ord(prefix[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # surrogates are no characters of a string that can be stored
        last = 0xE000
    if last > 0x10FFFF:
        return after_every_extension(prefix[:-1]) if len(prefix) > 1 else chr(0x10FFFF)
    return prefix[:-1] + chr(last)


# The searched words, the credential and the category are written into the statement's SQL when it runs
# (SQLAlchemy quotes them), as its LIMIT and OFFSET: psycopg prepares a statement from its fifth execution
# on a connection, and PostgreSQL then runs it with a plan made without its parameters' values when it
# judges that plan as good. Made without the searched words, the range was guessed at a two-hundredth of the
# tails: at 10,000 endorsements that plan hashed every match and sorted them (10 ms instead of 1); and
# where PostgreSQL judged it worse, it planned the statement anew each time (1-2 ms, more than running it;
# at 100,000 endorsements, not at 1,000). With the values in its text, a search repeated on a connection is
# planned once, with them.
def _literal(name: str, **kwargs: Any) -> sa.BindParameter[Any]:
    return sa.bindparam(name, literal_execute=True, **kwargs)


def _begins_with_name(tail: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """`tail` begins with the searched name (searchable()): one range of the name tails' index."""
    return sa.and_(tail >= _literal("name", type_=sa.String), tail < _literal("name_end", type_=sa.String))


def _first_matching_tail(tail: sa.FromClause) -> sa.ColumnElement[bool]:
    """`tail` is its endorsement's first tail to begin with the searched name ("ada" begins both "ada ada" and
    "ada" of Ada Ada, who is listed once): the endorsement's earlier tails, read by
    ix_registry_name_tail_endorsement (a test of their first characters that the search's index cannot serve,
    so the planner never walks the whole range again for each match)."""
    earlier = RegistryNameTail.__table__.alias("earlier")
    name = _literal("name", type_=sa.String)
    return ~sa.exists().where(
        earlier.c.endorsement_id == tail.c.endorsement_id,
        earlier.c.position < tail.c.position,
        sa.func.substr(earlier.c.tail, 1, sa.func.length(name)) == name,
    )


@functools.cache
def _filtered(shape: _Shape) -> sa.Select:
    """Every listed entry of this shape of search: in force, holder listed and active. Unfiltered by name, by
    name then number, read in the order of ix_user_account_name. Searched by name, the endorsements whose
    holder's name begins with the searched words from one of its words on (RegistryNameTail), read in the
    order of the tails' index that begins with the credential and category searched (then the matched words,
    the name, the holder, the number) until the page is full: whatever the registry's size and however many
    names match, a page reads about as many rows as it shows over the share of the matching endorsements
    that are listed and in force."""
    columns = (
        Endorsement.number,
        User.name,
        Endorsement.holder_id,
        Endorsement.credential,
        Endorsement.category,
        Endorsement.mentor_track,
        Endorsement.status,
        Endorsement.period_ends_on.label("valid_until"),
        _shown_city().label("city"),
    )
    if shape.name:
        tail = RegistryNameTail.__table__.alias("tail")
        statement = (
            sa.select(*columns, tail.c.tail.label("matched"))
            .select_from(tail)
            .join(Endorsement, Endorsement.id == tail.c.endorsement_id)
            .join(User, User.id == tail.c.holder_id)
            .where(_begins_with_name(tail.c.tail), _first_matching_tail(tail))
        )
        # Filtered on the tails' own columns: the planner reads the tails' index that begins with them.
        credential: sa.ColumnElement[Any] = tail.c.credential
        category: sa.ColumnElement[Any] = tail.c.category
        order: list[sa.ColumnExpressionArgument[Any]] = [tail.c[column] for column in RESULT_ORDER]
    else:
        statement = sa.select(*columns, sa.null().label("matched")).join(User, User.id == Endorsement.holder_id)
        credential, category = Endorsement.credential.expression, Endorsement.category.expression
        order = [User.name, User.id, Endorsement.number]
    statement = statement.outerjoin(RegistryListing, RegistryListing.holder_id == Endorsement.holder_id).where(
        Endorsement.status.in_(IN_FORCE), _is_listed(shape.listed_by_default), User.deactivated_at.is_(None)
    )
    if shape.credential:
        statement = statement.where(credential == _literal("credential"))
    if shape.category:
        statement = statement.where(category == _literal("category"))
    if shape.place:
        # Only a city the holder chose to show can be searched by.
        statement = statement.where(
            RegistryListing.show_city.is_(True), _contains(sa.func.lower(RegistryListing.city), "place")
        )
    return statement.order_by(*order)


def like_pattern(text: str) -> str:
    """The LIKE pattern of "contains `text`, whatever its case" (with `/` escaping)."""
    escaped = text.lower().replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def _contains(lowered: sa.ColumnElement[str], parameter: str) -> sa.ColumnElement[bool]:
    """`lowered` (lower() of a column, the very expression of its trigram index on PostgreSQL) matches the
    like_pattern() given as `parameter`: the planner sees the whole pattern and reads the index
    (ix_registry_listing_city_trgm)."""
    return lowered.like(sa.bindparam(parameter, type_=sa.String), escape="/")


def contains_text(lowered: sa.ColumnElement[str], text: str) -> sa.ColumnElement[bool]:
    """`lowered` contains `text`, case-insensitively (for a statement built with its values)."""
    return lowered.like(like_pattern(text), escape="/")


def _latest_changes() -> sa.Subquery:
    """One row: the latest change of an endorsement and of a listing (each read backwards from its
    updated_at index)."""
    return sa.select(
        sa.select(sa.func.max(Endorsement.updated_at)).scalar_subquery().label("endorsement_changed_at"),
        sa.select(sa.func.max(RegistryListing.updated_at)).scalar_subquery().label("listing_changed_at"),
    ).subquery("changes")


@functools.cache
def _page(shape: _Shape) -> sa.Select:
    entries = (
        _filtered(shape)
        # In the SQL (see _literal): a LIMIT or OFFSET left a parameter makes a plan made without the values
        # assume a tenth of the rows are read.
        .limit(_literal("limit", type_=sa.Integer))
        .offset(_literal("offset", type_=sa.Integer))
        .subquery("entry")
    )
    changes = _latest_changes()
    return (
        sa.select(changes, entries)
        .select_from(changes.outerjoin(entries, sa.true()))
        .order_by(entries.c.matched, entries.c.name, entries.c.holder_id, entries.c.number)
    )


def page_query(search: RegistrySearch, *, page: int, page_size: int) -> tuple[sa.Select, dict[str, object]]:
    """The one statement of a page and its parameters: the page's entries (and one more, to know whether
    a next page exists) beside the registry's latest changes, always one row at least (entry columns NULL
    for an empty page). Unfiltered, entries are read in the order of ix_user_account_name (name, id), each
    name's entries sorted by number as they come; a search by name reads the endorsements whose holder's name
    begins with it from one of its words on in the order of the name tails' index (`_filtered`), by place
    the trigram index of the city (tests/endorsements/test_registry_scale.py). Built once per shape of
    search, so a request only binds its values."""
    parameters = {**_parameters(search), "limit": page_size + 1, "offset": (page - 1) * page_size}
    return _page(_shape(search)), parameters


def search_registry(search: RegistrySearch, *, page: int, page_size: int) -> RegistryPage:
    """One page of listed entries matching the search (by name; searched by name, by the matched words, then
    name), with the registry's latest change: one statement, whatever the registry's size."""
    rows = db.session.execute(*page_query(search, page=page, page_size=page_size)).all()
    latest = _latest_of(rows[0].endorsement_changed_at, rows[0].listing_changed_at)
    entries = [_entry(row) for row in rows[:page_size] if row.number is not None]
    return RegistryPage(entries=entries, page=page, has_next=len(rows) > page_size, latest_change=latest)


EXPORT_BATCH = 500  # rows fetched at a time


def export_registry() -> Iterator[RegistryEntry]:
    """Every listed entry, by name (the export for the association's website): one statement whose rows are
    fetched EXPORT_BATCH at a time (a server-side cursor on PostgreSQL)."""
    statement = _filtered(_shape(RegistrySearch())).execution_options(yield_per=EXPORT_BATCH)
    for row in db.session.execute(statement):
        yield _entry(row)


ENTRY_FIELDS = tuple(RegistryEntry.__dataclass_fields__)


def _entry(row: sa.Row[Any]) -> RegistryEntry:
    mapping = row._mapping
    return RegistryEntry(**{field: mapping[field] for field in ENTRY_FIELDS})


def registry_changed_at(today: date) -> datetime:
    """The last moment anything the registry shows may have changed: the latest change of an endorsement
    or a listing, and at least the start of today (validity is as of the day)."""
    row = db.session.execute(sa.select(_latest_changes())).one()
    return changed_at(today, _latest_of(row.endorsement_changed_at, row.listing_changed_at))


def changed_at(today: date, latest_change: datetime | None) -> datetime:
    """A registry page's Last-Modified: its latest change, and at least the start of today."""
    return _latest(today, latest_change)


def _latest_of(*moments: datetime | None) -> datetime | None:
    known = [_aware(m) for m in moments if m is not None]
    return max(known, default=None)


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
        sa.select(
            Endorsement,
            User.name,
            _shown_city(),
            _is_listed(current_app.config["REGISTRY_LISTED_BY_DEFAULT"]),
            User.deactivated_at,
            RegistryListing.updated_at,
        )
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
