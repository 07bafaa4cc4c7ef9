"""The declarative base with a constraint naming convention, and shared column types."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


# The trigram operator classes of the registry's name and place indexes (PostgreSQL only; the
# migration creates the extension the same way).
sa.event.listen(
    Base.metadata,
    "before_create",
    sa.DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def rows_changed(
    session: Session | scoped_session[Any], statement: sa.Update, parameters: dict[str, Any] | None = None
) -> int:
    """Run a conditional UPDATE (with the values of its bound `parameters`, if any) and say how many rows it
    changed (0: its condition no longer held). The session's objects are not synchronised with it."""
    if statement.get_execution_options().get("synchronize_session") is not False:
        statement = statement.execution_options(synchronize_session=False)
    result = cast("sa.CursorResult[Any]", session.execute(statement, parameters))
    return result.rowcount


# The largest id of an integer primary key (PostgreSQL's integer); `<int:…>` routes stop there too.
MAX_ID = 2**31 - 1


def database_id(value: object) -> int | None:
    """`value` (e.g. a form's text) as a row id, or None when it cannot be one (not ASCII digits, too large)."""
    text = str(value or "")
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)) or int(text) > MAX_ID:
        return None
    return int(text)


def utc_today() -> date:
    """Today's date in UTC, the portal's one calendar (never the server's local date)."""
    return utcnow().date()


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores UTC without a zone (the same on SQLite and PostgreSQL) and hands back aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def enum_column(enum_cls: type[enum.Enum]) -> sa.Enum:
    """An enum stored as its string values in a VARCHAR (no database enum type to migrate)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
