from __future__ import annotations

import enum
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


# The registry's search by part of a name (lower(name) LIKE '%term%'): a trigram index of that very
# expression on PostgreSQL, so a search at 100,000 endorsements reads the index, not every account.
sa.Index(
    "ix_user_account_name_trgm",
    sa.func.lower(User.name).label("name_lower"),
    postgresql_using="gin",
    postgresql_ops={"name_lower": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")
