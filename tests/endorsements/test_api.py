"""The registry in the API (read:registry): the same listed entries as the public pages, nothing about
endorsees who are not listed; other keys are refused."""

from __future__ import annotations

import pytest

from refportal.accounts.models import Role
from refportal.api.keys import create_key
from refportal.api.models import Scope
from refportal.extensions import db
from tests.api.helpers import bearer
from tests.endorsements.helpers import endorse, set_listing
from tests.factories import make_user


@pytest.fixture
def keys(app):
    with app.app_context():
        admin = make_user(email="keys@example.org", role=Role.ADMIN)
        _, registry_key = create_key(name="Website", scopes=[Scope.READ_REGISTRY], actor=admin)
        _, other_key = create_key(name="CRM", scopes=[Scope.READ_APPLICATIONS], actor=admin)
        db.session.commit()
    return registry_key, other_key


def test_the_registry_in_the_api(app, client, keys):
    listed = endorse(app, name="Ana Alvarez")
    set_listing(app, listed, listed=True, show_city=True, city="Grand Rapids")
    hidden = endorse(app, name="Olga Optout")
    set_listing(app, hidden, listed=False)
    registry_key, _ = keys
    answer = client.get("/api/v1/registry", headers=bearer(registry_key))
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["page"] == 1 and body["next_page"] is None
    assert [entry["number"] for entry in body["items"]] == [listed]
    assert body["items"][0] | {"valid_until": None} == {
        "number": listed,
        "name": "Ana Alvarez",
        "credential": "IMH-E",
        "category": 2,
        "category_name": "Infant Family Specialist",
        "status": "active",
        "valid_until": None,
        "city": "Grand Rapids",
    }
    assert "Olga" not in answer.get_data(as_text=True) and hidden not in answer.get_data(as_text=True)
    assert client.get("/api/v1/registry?name=olga", headers=bearer(registry_key)).get_json()["items"] == []
    assert client.get("/api/v1/registry?place=grand&category=2", headers=bearer(registry_key)).get_json()["items"]


def test_a_key_without_the_scope_is_refused(app, client, keys):
    _, other_key = keys
    assert client.get("/api/v1/registry", headers=bearer(other_key)).status_code == 403
    assert client.get("/api/v1/registry").status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        "category=9",
        "credential=x",
        "page=0",
        "limit=100000",
        "name=" + "x" * 200,
        "nope=1",
        "name=a%00b",
        "place=%0d%0a",
    ],
)
def test_bad_parameters_are_a_422_problem(app, client, keys, query):
    registry_key, _ = keys
    answer = client.get("/api/v1/registry?" + query, headers=bearer(registry_key))
    assert answer.status_code == 422 and answer.content_type == "application/problem+json"
