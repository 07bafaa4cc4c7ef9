"""The reviewers' queue: the applications the filters select, in an indexed order, a page at a time.

Pages are found by keyset: the Next link carries the sort key of the page's last row and the Previous link
that of its first row (a `Cursor`), and the page after a key is the rows whose (sort key, id) come after
it, read from the order's index: a deep page costs what the first does. A page number alone (a bookmark,
`?page=N`) is still read with OFFSET, whose cost grows with N; the links of that page carry cursors again.
The statements are built here from the filters and the settings (`QueueRules`) alone, so the benchmark's
floors run these very statements."""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from refportal.accounts.models import User
from refportal.applications.lifecycle import UNDECIDED, ApplicationStatus
from refportal.applications.models import Application, submitted_or_earliest, submitted_or_latest
from refportal.applications.verdicts import all_verified_clause, open_verdict_exists
from refportal.db import MAX_ID
from refportal.extensions import db
from refportal.membership.models import MembershipDeclaration, MembershipStatus
from refportal.reviews.models import Review, ReviewAssignment
from refportal.submission.completeness import complete_clause, counted_ratings

T = TypeVar("T")

# The stand-ins of a missing submission date in the orders by submission (applications.models): what a
# cursor carries for a file never submitted.
EARLIEST = datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


@dataclass(frozen=True)
class QueueFilters:
    q: str = ""
    credential: str = ""
    category: int | None = None
    status: str = ""
    membership: str = ""  # a MembershipStatus value, or "none"
    completeness: str = ""  # "complete" | "incomplete"
    verdicts: str = ""  # "needs_more": an item not verified or needing more; "verified": every item verified
    submitted_from: date | None = None
    submitted_to: date | None = None
    sort: str = "submitted"
    review_round_id: int | None = None
    assigned_to: int | None = None  # a reviewer's id: only the files assigned to them
    short_of_reviewers: bool = False  # only undecided files with fewer than REVIEWERS_PER_FILE reviewers


def filters_from(
    values: Mapping[str, Any], *, viewer_id: int, viewer_is_admin: bool, read_unassigned: bool
) -> QueueFilters:
    """The filters of the queue's form: `values` holds each field's valid data (None for a field left out
    or with an error). Without REVIEWERS_READ_UNASSIGNED (`read_unassigned`) a reviewer's queue holds only
    the files assigned to them."""
    category, review_round, mine = values.get("category"), values.get("review_round"), values.get("mine") or ""
    only_mine = mine == "assigned" or (not viewer_is_admin and not read_unassigned)
    return QueueFilters(
        review_round_id=int(review_round) if review_round else None,
        assigned_to=viewer_id if only_mine else None,
        short_of_reviewers=mine == "unassigned",
        q=values.get("q") or "",
        credential=values.get("credential") or "",
        category=int(category) if category else None,
        status=values.get("status") or "",
        membership=values.get("membership") or "",
        completeness=values.get("completeness") or "",
        verdicts=values.get("verdicts") or "",
        submitted_from=values.get("submitted_from"),
        submitted_to=values.get("submitted_to"),
        sort=values.get("sort") or "submitted",
    )


@dataclass(frozen=True)
class QueueRules:
    """The settings the filters read."""

    reviewers_per_file: int
    requirements: Mapping[int, dict]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> QueueRules:
        return cls(config["REVIEWERS_PER_FILE"], config["ELIGIBILITY_REQUIREMENTS"])


class KeyKind(enum.Enum):
    """What one value of a sort key is (how a cursor carries and checks it)."""

    MOMENT = "moment"
    TEXT = "text"
    ID = "id"


@dataclass(frozen=True)
class Order:
    """One order of the queue: its sort key (the application's id last, so no two rows tie) and direction.
    `indexed`: for an order over two tables, how many leading keys the first table's index holds (the page
    after a key also says where that index's scan starts)."""

    keys: tuple[Any, ...]
    kinds: tuple[KeyKind, ...]
    descending: bool
    indexed: int = 0

    def order_by(self, *, backward: bool = False) -> list[Any]:
        descending = self.descending != backward
        return [key.desc() if descending else key.asc() for key in self.keys]

    def beyond(self, key: tuple[Any, ...], *, backward: bool = False) -> sa.ColumnElement[bool]:
        """The rows after `key` in this order (`backward`: before it)."""
        descending = self.descending != backward

        def past(columns: Sequence[Any], values: Sequence[Any]) -> sa.ColumnElement[bool]:
            return sa.tuple_(*columns) < sa.tuple_(*values) if descending else sa.tuple_(*columns) > sa.tuple_(*values)

        # Bound as the keys' own types (a moment as UTCDateTime: the stored, zoneless UTC).
        bound = [sa.literal(value, column.type) for column, value in zip(self.keys, key, strict=True)]
        if not self.indexed:
            return past(self.keys, bound)
        # Where the first table's index scan starts (its keys up to and including the key's own), then, for
        # the rows of the key's own first-table row (the same applicant), the rest of the key: written so,
        # not as one comparison across both tables, whose estimate (a few rows) has the planner read the
        # whole second table instead of walking the index a page's worth.
        lead, rest = self.keys[: self.indexed], self.keys[self.indexed :]
        lead_values, rest_values = bound[: self.indexed], bound[self.indexed :]
        started = (
            sa.tuple_(*lead) <= sa.tuple_(*lead_values) if descending else sa.tuple_(*lead) >= sa.tuple_(*lead_values)
        )
        return sa.and_(started, sa.or_(sa.tuple_(*lead) != sa.tuple_(*lead_values), past(rest, rest_values)))

    @property
    def reads_applicant(self) -> bool:
        return any(getattr(key, "table", None) is User.__table__ for key in self.keys)


MOMENT_ID = (KeyKind.MOMENT, KeyKind.ID)
# Each order is served by an index (applications.models: the orders by submission and creation, also within
# a status; accounts.models: the applicant's name, then the application by its applicant).
SORTS = {
    "submitted": Order((submitted_or_earliest, Application.id), MOMENT_ID, descending=True),
    "oldest": Order((submitted_or_latest, Application.id), MOMENT_ID, descending=False),
    "created": Order((Application.created_at, Application.id), MOMENT_ID, descending=True),
    "name": Order((User.name, User.id, Application.id), (KeyKind.TEXT, KeyKind.ID, KeyKind.ID), False, indexed=2),
}


def order_of(filters: QueueFilters) -> Order:
    return SORTS.get(filters.sort, SORTS["submitted"])


def sort_name(filters: QueueFilters) -> str:
    return filters.sort if filters.sort in SORTS else "submitted"


# ---------------------------------------------------------------------------------------------
# Cursors: a row's sort key in a link


PAGE_ARGS = ("page", "after", "before")  # a page's place in a link's query; the rest are the filters
CURSOR_MAX = 1024  # characters: the longest name (120 characters of 4 bytes), two ids and the order, in base64
_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]+")
_NAME_MAX = 120  # User.name's length


@dataclass(frozen=True)
class Cursor:
    """A row's sort key in one order, as a link carries it: base64url of a JSON list in UTF-8 (the order's
    name, then the key's values). Anything that does not decode to a key of that order is refused (`decode`
    answers None), so a damaged or hostile link can only lead to the first page."""

    sort: str
    key: tuple[Any, ...]

    def encode(self) -> str:
        values = [_as_json(value) for value in self.key]
        text = json.dumps([self.sort, *values], separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: str) -> Cursor | None:
        """The cursor `text` carries for the order `sort`, or None for anything else."""
        if not text or len(text) > CURSOR_MAX or not _CURSOR_TEXT.fullmatch(text):
            return None
        try:
            found = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError, RecursionError):  # ValueError: bad UTF-8 or JSON
            return None
        order = SORTS.get(sort)
        if order is None or not isinstance(found, list) or len(found) != 1 + len(order.kinds) or found[0] != sort:
            return None
        values = [_key_value(kind, value) for kind, value in zip(order.kinds, found[1:], strict=True)]
        if any(value is None for value in values):
            return None
        return cls(sort, tuple(values))


def _as_json(value: object) -> object:
    return value.astimezone(UTC).isoformat(timespec="microseconds") if isinstance(value, datetime) else value


def _key_value(kind: KeyKind, value: object) -> object | None:
    """One value of a key as the database may be asked to compare it, or None."""
    if kind is KeyKind.ID:
        return value if type(value) is int and 0 < value <= MAX_ID else None
    if not isinstance(value, str):
        return None
    if kind is KeyKind.TEXT:
        # PostgreSQL takes no NUL in text, and the driver no lone surrogate.
        if len(value) > _NAME_MAX or "\x00" in value:
            return None
        try:
            value.encode()
        except UnicodeEncodeError:
            return None
        return value
    if len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.utcoffset() == timedelta(0) else None


@dataclass(frozen=True)
class Position:
    """Where a page starts: at an offset (the first page; a page number alone), or just after or just
    before a row's key (the links the pages make)."""

    offset: int = 0
    after: Cursor | None = None
    before: Cursor | None = None


@dataclass(frozen=True)
class Requested:
    position: Position
    number: int | None  # the page's number, when known (a link carries it; a cursor alone does not)
    refused: bool  # the link's cursor was damaged, out of date or from another order: the first page instead


def requested(sort: str, *, page: int | None, after: str | None, before: str | None, per_page: int) -> Requested:
    """The page a link asks for: `after` or `before` (a cursor: keyset), else `page` (OFFSET)."""
    if after is None and before is None:
        number = page or 1
        return Requested(Position(offset=(number - 1) * per_page), number, refused=False)
    if after is not None and before is not None:
        return Requested(Position(), 1, refused=True)
    cursor = Cursor.decode(after if after is not None else before or "", sort)
    if cursor is None:
        return Requested(Position(), 1, refused=True)
    position = Position(after=cursor) if after is not None else Position(before=cursor)
    return Requested(position, page, refused=False)


@dataclass(frozen=True)
class Paging:
    """A page's place: its number (None when not known), and the links to the pages on either side."""

    number: int | None
    has_previous: bool
    has_next: bool
    sort: str
    first_key: tuple[Any, ...] | None  # the keys of the page's first and last rows
    last_key: tuple[Any, ...] | None

    def previous_link(self, args: Mapping[str, object] = {}) -> dict[str, object] | None:  # noqa: B006 - read only
        """The query of the Previous link, then `args` (the list's filters): the first page from page 2
        (or from an empty page), else the page before this page's first row."""
        if not self.has_previous:
            return None
        if self.first_key is None or self.number == 2:
            return {"page": 1, **args}
        link: dict[str, object] = {"page": self.number - 1} if self.number else {}
        return link | {"before": Cursor(self.sort, self.first_key).encode(), **args}

    def next_link(self, args: Mapping[str, object] = {}) -> dict[str, object] | None:  # noqa: B006 - read only
        """The query of the Next link, then `args`: the page after this page's last row."""
        if not self.has_next or self.last_key is None:
            return None
        link: dict[str, object] = {"page": self.number + 1} if self.number else {}
        return link | {"after": Cursor(self.sort, self.last_key).encode(), **args}


def arrange(
    fetched: Sequence[T], key_of: Callable[[T], tuple[Any, ...]], request: Requested, per_page: int, sort: str
) -> tuple[list[T], Paging]:
    """The rows to show of those `page_ids` found (at most one more than a page, in the order shown), and
    the page's place: whether a page comes before and after it, its number."""
    position, number = request.position, request.number
    if position.before is not None:  # the rows just before the key; one more: is there a page before?
        has_previous = len(fetched) > per_page
        rows = list(fetched[1:] if has_previous else fetched)
        has_next = bool(rows)
        if not has_previous:
            number = 1
    else:
        rows = list(fetched[:per_page])
        has_next = len(fetched) > per_page
        has_previous = position.after is not None or position.offset > 0
    if has_previous and number == 1:
        number = None  # a stale page number (a link from before rows were added)
    first, last = (key_of(rows[0]), key_of(rows[-1])) if rows else (None, None)
    return rows, Paging(number, has_previous, has_next, sort, first, last)


# ---------------------------------------------------------------------------------------------
# The statements


def reviews_this_round() -> sa.ScalarSelect[int]:
    """The reviews of the application's current cycle, correlated to Application."""
    return (
        sa.select(sa.func.count(Review.id))
        .where(Review.application_id == Application.id, Review.cycle == Application.review_cycle)
        .correlate(Application)
        .scalar_subquery()
    )


def _membership_is(status: str, today: date) -> sa.ColumnElement[bool]:
    if status == "none":
        return MembershipDeclaration.id.is_(None)
    return MembershipDeclaration.status_on_is(MembershipStatus(status), today)


def _filtered(
    filters: QueueFilters, today: date, rules: QueueRules, *columns: Any, ordered: bool = False
) -> sa.Select[Any]:
    """The applications the filters select; the applicant and membership are joined only when a
    filter or the order (`ordered`) needs them, so the common pages read the application table alone."""
    query = sa.select(*columns).select_from(Application)
    if filters.q or (ordered and order_of(filters).reads_applicant):
        query = query.join(User, Application.applicant_id == User.id)
    if filters.membership or filters.completeness:
        query = query.outerjoin(MembershipDeclaration, MembershipDeclaration.application_id == Application.id)
    if filters.q:
        # The typed text is matched as it is: % and _ are no wildcards (SQLAlchemy escapes them).
        typed = filters.q.lower()
        query = query.where(
            sa.or_(
                sa.func.lower(User.name).contains(typed, autoescape=True),
                sa.func.lower(User.email).contains(typed, autoescape=True),
            )
        )
    if filters.credential:
        query = query.where(Application.credential == filters.credential)
    if filters.category:
        query = query.where(Application.category == filters.category)
    if filters.status:
        query = query.where(Application.status == ApplicationStatus(filters.status))
    if filters.review_round_id:
        query = query.where(Application.review_round_id == filters.review_round_id)
    if filters.assigned_to:
        query = query.where(
            sa.exists().where(
                ReviewAssignment.application_id == Application.id, ReviewAssignment.reviewer_id == filters.assigned_to
            )
        )
    if filters.short_of_reviewers:
        assigned = (
            sa.select(sa.func.count(ReviewAssignment.id))
            .where(ReviewAssignment.application_id == Application.id)
            .scalar_subquery()
        )
        query = query.where(Application.status.in_(UNDECIDED), assigned < rules.reviewers_per_file)
    if filters.membership:
        query = query.where(_membership_is(filters.membership, today))
    if filters.completeness:
        complete = complete_clause(today, dict(rules.requirements))
        query = query.where(complete if filters.completeness == "complete" else sa.not_(complete))
    if filters.verdicts == "needs_more":  # the reviewers' current verdicts of the file's cycle
        query = query.where(open_verdict_exists())
    elif filters.verdicts == "verified":
        query = query.where(all_verified_clause())
    if filters.submitted_from or filters.submitted_to:
        # On the newest-first order's key, so its index reads the range (a file never submitted has none).
        query = query.where(Application.submitted_at.is_not(None))
    if filters.submitted_from:
        query = query.where(submitted_or_earliest >= datetime.combine(filters.submitted_from, time.min, UTC))
    if filters.submitted_to:
        end = datetime.combine(filters.submitted_to + timedelta(days=1), time.min, UTC)
        query = query.where(submitted_or_earliest < end)
    return query


def count_statement(filters: QueueFilters, today: date, rules: QueueRules, count_limit: int) -> sa.Select[Any]:
    """How many applications match, counted up to one more than `count_limit`: the count stops there. The
    rows are read in the newest-first order (whatever the page's), so the count walks that order's index
    (within the status, when filtered by one) and stops after count_limit + 1 entries; a sequential scan
    would stop there too, but only after every row stored before them (an application's rows move to the
    table's end when they change: a status's rows may all be there)."""
    counted = _filtered(filters, today, rules, Application.id).order_by(*SORTS["submitted"].order_by())
    return sa.select(sa.func.count()).select_from(counted.limit(count_limit + 1).subquery())


def page_ids(
    filters: QueueFilters, today: date, rules: QueueRules, *, position: Position, limit: int
) -> sa.Select[Any]:
    """The ids of one page, in the chosen order: read from that order's index, from the key the position
    names (backwards for the page before it), stopping at the page."""
    order = order_of(filters)
    query = _filtered(filters, today, rules, Application.id, ordered=True)
    if position.after is not None:
        query = query.where(order.beyond(position.after.key))
    elif position.before is not None:
        query = query.where(order.beyond(position.before.key, backward=True))
    query = query.order_by(*order.order_by(backward=position.before is not None))
    if position.offset:
        query = query.offset(position.offset)
    return query.limit(limit)


def key_columns(order: Order) -> list[Any]:
    """The order's key as columns of a page's rows (`key_0`, `key_1`, …): the links' cursors are made from them."""
    return [key.label(f"key_{n}") for n, key in enumerate(order.keys)]


# ---------------------------------------------------------------------------------------------
# Pages and the export


@dataclass(frozen=True)
class QueueRow:
    application: Application
    membership: MembershipDeclaration | None
    counted: int
    reviews: int
    key: tuple[Any, ...] = ()


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    paging: Paging
    per_page: int
    total: int | None  # None: more than `count_limit` applications match
    count_limit: int
    refused: bool  # the link's cursor could not be read: this is the first page

    @property
    def number(self) -> int | None:
        return self.paging.number

    @property
    def has_next(self) -> bool:
        return self.paging.has_next

    @property
    def pages(self) -> int | None:
        return None if self.total is None else max(1, -(-self.total // self.per_page))


def queue_page(
    filters: QueueFilters,
    *,
    page: int | None,
    per_page: int,
    today: date,
    count_limit: int,
    rules: QueueRules,
    after: str | None = None,
    before: str | None = None,
) -> QueuePage:
    """One page of the filtered queue: two statements, and the same work at any number of rows and at any
    depth reached by the links (a page number alone is read with OFFSET).

    The total is counted exactly up to `count_limit` (beyond it the page says "more than"), so the
    count stops early instead of reading every application; the page's ids are chosen first (filter,
    indexed order, limit), so the per-row counts are computed for those rows only."""
    request = requested(sort_name(filters), page=page, after=after, before=before, per_page=per_page)
    matching = db.session.scalar(count_statement(filters, today, rules, count_limit)) or 0
    # One more row than shown: is there a page after (before, for the page before a key)?
    ids = page_ids(filters, today, rules, position=request.position, limit=per_page + 1)
    fetched = db.session.execute(_rows_statement(ids.subquery(), order_of(filters))).all()
    rows, paging = arrange(
        [_row(found) for found in fetched], lambda row: row.key, request, per_page, sort_name(filters)
    )
    return QueuePage(
        rows=rows,
        paging=paging,
        per_page=per_page,
        total=matching if matching <= count_limit else None,
        count_limit=count_limit,
        refused=request.refused,
    )


EXPORT_BATCH = 500  # rows fetched at a time


def queue_rows(filters: QueueFilters, today: date, rules: QueueRules) -> Iterator[QueueRow]:
    """Every row the filters select, in order (the CSV export): one statement whose rows are fetched
    EXPORT_BATCH at a time (a server-side cursor on PostgreSQL), so memory does not grow with the queue."""
    order = order_of(filters)
    ids = _filtered(filters, today, rules, Application.id, ordered=True).subquery()
    statement = _rows_statement(ids, order).execution_options(yield_per=EXPORT_BATCH)
    for found in db.session.execute(statement):
        yield _row(found)


def _rows_statement(ids: sa.Subquery, order: Order) -> sa.Select[Any]:
    """The queue rows of the applications in the subquery `ids`, with their per-row counts and sort keys."""
    return (
        sa.select(
            Application,
            MembershipDeclaration,
            counted_ratings().label("counted"),
            reviews_this_round().label("reviews"),
            *key_columns(order),
        )
        .join(ids, ids.c.id == Application.id)
        .join(User, Application.applicant_id == User.id)
        .outerjoin(MembershipDeclaration, MembershipDeclaration.application_id == Application.id)
        .options(contains_eager(Application.applicant))
        .order_by(*order.order_by())
    )


def _row(found: sa.Row[Any]) -> QueueRow:
    application, membership, counted, reviews, *key = tuple(found)
    return QueueRow(application, membership, counted, reviews, tuple(key))
