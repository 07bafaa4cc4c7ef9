"""Shared steps for the API tests: a key's header, keys on an app a test builds itself."""

from __future__ import annotations

from refportal.accounts.models import Role
from refportal.api.keys import create_key
from refportal.api.models import Scope
from refportal.extensions import db
from tests.factories import make_user


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def make_keys(app) -> tuple[str, str]:
    """Two read keys on `app` (for tests that build their own app)."""
    with app.app_context():
        admin = make_user(email="keys-admin@example.org", name="Keys Admin", role=Role.ADMIN)
        _, first = create_key(name="One", scopes=[Scope.READ_APPLICATIONS], actor=admin)
        _, second = create_key(name="Two", scopes=[Scope.READ_APPLICATIONS], actor=admin)
        db.session.commit()
        return first, second


def problem_of(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["detail"]
    return body
