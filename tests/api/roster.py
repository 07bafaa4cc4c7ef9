"""The roster import as the API tests send it: rows, the POST with its key, applicant A's status."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from refportal.db import utc_today
from refportal.extensions import db
from refportal.membership.models import MembershipDeclaration, MembershipStatus
from tests.api.helpers import bearer

VALID_UNTIL = (utc_today() + timedelta(days=300)).isoformat()


def rows(*extra: dict) -> list[dict]:
    return [
        {"member_number": "IO-1", "email": "a@example.org", "name": "Applicant A", "expires_on": VALID_UNTIL},
        {"member_number": "IO-999", "email": "x@example.org", "name": "Nobody", "expires_on": VALID_UNTIL},
        *extra,
    ]


def post(client, key: str, body, idempotency_key: str | None = "import-1", **kwargs):
    headers = bearer(key)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    if isinstance(body, (bytes, str)):
        return client.post("/api/v1/roster", headers=headers, data=body, content_type="application/json")
    return client.post("/api/v1/roster", headers=headers, json=body, **kwargs)


def status_of_a(app) -> MembershipStatus:
    with app.app_context():
        return db.session.scalars(sa.select(MembershipDeclaration.status)).first()
