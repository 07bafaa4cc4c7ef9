"""The endorsement revision gives every application endorsed before it its record, so none is lost."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_migrate import upgrade

from refportal.endorsements.services import NUMBER_PATTERN
from refportal.extensions import db
from tests.support import migrating_app


def test_applications_endorsed_before_get_their_records(tmp_path, postgres_schema):
    user = sa.table(
        "user_account", *(sa.column(n) for n in ("id", "email", "name", "password_hash", "role", "created_at"))
    )
    application = sa.table(
        "application",
        *(sa.column(n) for n in ("id", "applicant_id", "credential", "category", "mentor_track", "status")),
        *(sa.column(n) for n in ("created_at", "updated_at", "changed_at", "decided_at")),
    )
    now = datetime(2026, 11, 30, 12, 0)
    with migrating_app(tmp_path, postgres_schema):
        upgrade(revision="b10ba4b72ac0")
        with db.engine.begin() as conn:
            conn.execute(
                sa.insert(user).values(
                    id=1, email="e@example.org", name="E", password_hash="x", role="applicant", created_at=now
                )
            )
            stamps = {"created_at": now, "updated_at": now, "changed_at": now}
            rows = (
                (1, "endorsed", "ecmh-e", 4, "clinical", datetime(2025, 1, 31, 9, 0)),
                (2, "denied", "imh-e", 2, None, datetime(2025, 3, 1, 9, 0)),
                (3, "submitted", "imh-e", 2, None, None),
            )
            for app_id, status, credential, category, track, decided_at in rows:
                conn.execute(
                    sa.insert(application).values(
                        id=app_id,
                        applicant_id=1,
                        credential=credential,
                        category=category,
                        mentor_track=track,
                        status=status,
                        decided_at=decided_at,
                        **stamps,
                    )
                )
        upgrade()
        with db.engine.connect() as conn:
            records = conn.execute(
                sa.text(
                    "SELECT number, holder_id, application_id, credential, category, mentor_track, issued_on,"
                    " period_ends_on, status FROM endorsement"
                )
            ).all()
            changes = conn.execute(sa.text("SELECT status, event FROM endorsement_change")).all()
        assert len(records) == 1
        number, holder, app_id, credential, category, track, issued_on, ends_on, status = records[0]
        assert NUMBER_PATTERN.fullmatch(number) and number.startswith("ECMH-")
        assert (holder, app_id, credential, category, track, status) == (1, 1, "ecmh-e", 4, "clinical", "active")
        assert str(issued_on) == str(date(2025, 1, 31)) and str(ends_on) == str(date(2026, 1, 31))
        assert [tuple(c) for c in changes] == [("active", "issue")]
