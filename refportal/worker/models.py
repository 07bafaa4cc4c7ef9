from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from refportal.db import Base, UTCDateTime


class ScheduledJob(Base):
    """One periodic job: the worker that moves `next_run_at` on (one conditional UPDATE) runs it, so
    a job runs once per period however many workers there are."""

    __tablename__ = "scheduled_job"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_result: Mapped[str | None] = mapped_column(sa.String(200))
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
