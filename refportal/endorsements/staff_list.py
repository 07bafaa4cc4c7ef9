"""The staff's list of endorsements: filtered by status and by name, e-mail or number, soonest period end
first, paged by keyset (the page after the last row seen), so a deep page costs what the first does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.endorsements.models import Endorsement, EndorsementChange, EndorsementNotice
from refportal.endorsements.services import normalized_number
from refportal.extensions import db

PAGE_SIZE = 50


@dataclass(frozen=True)
class PageMark:
    """Where a page starts: after this (period end, id)."""

    period_ends_on: date
    id: int

    def encode(self) -> str:
        return f"{self.period_ends_on.isoformat()}_{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> PageMark | None:
        """The mark a link carries, or None for anything else (hostile input starts at the first page)."""
        if not text or len(text) > 40:
            return None
        day, _, ident = text.partition("_")
        try:
            mark = cls(date.fromisoformat(day), int(ident))
        except ValueError:
            return None
        return mark if 0 < mark.id < 2**31 else None


@dataclass(frozen=True)
class StaffPage:
    rows: list[tuple[Endorsement, User]]
    next_mark: PageMark | None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def staff_page(*, query: str = "", status: EndorsementStatus | None = None, after: PageMark | None = None) -> StaffPage:
    statement = sa.select(Endorsement, User).join(User, Endorsement.holder_id == User.id)
    if status is not None:
        statement = statement.where(Endorsement.status == status)
    query = query.strip()
    if query:
        number = normalized_number(query)
        if number is not None:
            statement = statement.where(Endorsement.number == number)
        else:
            pattern = _like(query)
            statement = statement.where(
                sa.or_(sa.func.lower(User.name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))
            )
    if after is not None:
        statement = statement.where(
            sa.or_(
                Endorsement.period_ends_on > after.period_ends_on,
                sa.and_(Endorsement.period_ends_on == after.period_ends_on, Endorsement.id > after.id),
            )
        )
    statement = statement.order_by(Endorsement.period_ends_on, Endorsement.id).limit(PAGE_SIZE + 1)
    rows = [(endorsement, user) for endorsement, user in db.session.execute(statement).all()]
    next_mark = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        last = rows[-1][0]
        next_mark = PageMark(last.period_ends_on, last.id)
    return StaffPage(rows, next_mark)


def endorsement_by_number(number: str) -> Endorsement | None:
    normalized = normalized_number(number)
    if normalized is None:
        return None
    return db.session.scalar(sa.select(Endorsement).where(Endorsement.number == normalized))


def history_of(endorsement: Endorsement) -> tuple[list[EndorsementChange], list[EndorsementNotice]]:
    """Its changes of status and the notices of its annual cycle, oldest first."""
    notices = db.session.scalars(
        sa.select(EndorsementNotice)
        .where(EndorsementNotice.endorsement_id == endorsement.id)
        .order_by(EndorsementNotice.sent_on, EndorsementNotice.id)
    ).all()
    return list(endorsement.changes), list(notices)
