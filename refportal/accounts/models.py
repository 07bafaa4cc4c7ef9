from __future__ import annotations

import enum
import re
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from refportal.db import Base, UTCDateTime, enum_column, utcnow


class Role(enum.Enum):
    APPLICANT = "applicant"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class User(UserMixin, Base):
    __tablename__ = "user_account"
    __table_args__ = (sa.Index("ix_user_account_name", "name", "id"),)  # the queue and the registry sorted by name

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role), default=Role.APPLICANT)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A reviewer's or administrator's organisation (given at invitation): a reviewer working where the
    # applicant works has a conflict of interest with their file.
    organisation: Mapped[str | None] = mapped_column(sa.String(160))
    # Part of the session's user id: raising it ends every session (logout, new password).
    session_version: Mapped[int] = mapped_column(default=1, server_default=sa.text("1"))
    # The language of the e-mails about the account's endorsement (refportal.i18n.LANGUAGES; the
    # portal's own pages stay in English).
    language: Mapped[str] = mapped_column(sa.String(8), default="en", server_default="en")

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated account cannot log in
        return self.deactivated_at is None

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.REVIEWER, Role.ADMIN)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


# Staff searches by part of a name (lower(name) LIKE '%term%': the endorsement list, the review queue): a
# trigram index of that very expression on PostgreSQL, so a search reads the index, not every account.
sa.Index(
    "ix_user_account_name_trgm",
    sa.func.lower(User.name).label("name_lower"),
    postgresql_using="gin",
    postgresql_ops={"name_lower": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")


# Where a name's words break: spaces and hyphens ("Smith-Jones" is found by "jones").
WORD_BREAK = re.compile(r"[\s\-\u2010-\u2015]+")
TAIL_LENGTH = 120  # a tail, and the searched text, are compared on this many characters at most


def _words(text: str) -> list[str]:
    return [word for word in WORD_BREAK.split(text.casefold()) if word]


def searchable(text: str) -> str:
    """A searched text as the registry's search compares it with the names' tails: case folded, its words
    split at spaces and hyphens and joined by one space, at most TAIL_LENGTH characters ("" when it has
    no word)."""
    return " ".join(_words(text))[:TAIL_LENGTH]


def name_tails(name: str) -> list[str]:
    """The name from each of its words on, as searchable() gives a search: "Adaeze Okafor-Eze" gives
    "adaeze okafor eze", "okafor eze" and "eze" (a search matches a name when it begins one of them)."""
    words = _words(name)
    return [" ".join(words[start:])[:TAIL_LENGTH] for start in range(len(words))]
