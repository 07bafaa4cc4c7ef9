"""The Alembic migrations build the schema from empty and agree with the models."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from refportal.extensions import db
from tests.support import migrating_app


def test_upgrade_from_empty_matches_the_models_and_downgrades_to_empty(tmp_path, postgres_schema):
    with migrating_app(tmp_path, postgres_schema):
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
            tables = set(sa.inspect(conn).get_table_names())
        assert differences == []
        assert {t.name for t in db.metadata.sorted_tables} <= tables

        downgrade(revision="base")
        with db.engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}

        upgrade()  # and up again from empty
        with db.engine.connect() as conn:
            assert {t.name for t in db.metadata.sorted_tables} <= set(sa.inspect(conn).get_table_names())


def test_rows_not_yet_sent_lose_their_unsigned_message_to_be_built_again_when_sent(tmp_path, postgres_schema):
    """Message-IDs became signed: a row queued before (its stored message carries the old, guessable
    `<outbox-N@host>`) has its wire message dropped, so the sender builds it with the signed one; a row
    already sent keeps what it was sent with, and no return path (unknown: reports name it by VERP only)."""
    outbox = sa.table(
        "outbox_email",
        *(sa.column(name) for name in ("id", "template", "to_address", "subject", "body_text", "body_html")),
        *(sa.column(name) for name in ("status", "attempts", "created_at", "next_attempt_at", "wire_message")),
    )
    now = datetime(2026, 11, 29, 12, 0)
    with migrating_app(tmp_path, postgres_schema):
        upgrade(revision="6f896d69c11f")
        common = {"template": "t", "to_address": "a@example.org", "subject": "s", "body_text": "b"}
        common |= {"body_html": "h", "attempts": 0, "created_at": now, "next_attempt_at": now}
        with db.engine.begin() as conn:
            for row_id, status in ((1, "queued"), (2, "sending"), (3, "sent"), (4, "failed")):
                old_form = f"Message-ID: <outbox-{row_id}@portal.example.test>".encode()
                conn.execute(sa.insert(outbox).values(id=row_id, status=status, wire_message=old_form, **common))
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, wire_message, return_path FROM outbox_email ORDER BY id"))
            kept = {row_id: (wire is not None, return_path) for row_id, wire, return_path in rows}
        assert kept == {1: (False, None), 2: (False, None), 3: (True, None), 4: (True, None)}
