"""The read API: keys and scopes, problem documents, changes in order with a cursor, no rating content."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from refportal.api.keys import key_hash
from refportal.api.models import ApiKey
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.extensions import db
from refportal.references.models import Rating
from tests.api.helpers import bearer, problem_of
from tests.builders import logged_in
from tests.web import Browser


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer rp_not-a-key"}, 401),
        ({"Authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"}, 401),
        ("revoked", 401),
        ("roster", 403),
    ],
)
def test_a_missing_revoked_or_wrong_scope_key_is_refused(app, api_world, client, headers, status):
    if isinstance(headers, str):
        headers = bearer(api_world[headers])
    response = client.get("/api/v1/applications", headers=headers)
    problem_of(response, status)
    assert "Set-Cookie" not in response.headers
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_browser_session_is_no_key(app, api_world):
    admin = logged_in(app, "admin@example.org")
    problem_of(admin.get("/api/v1/applications"), 401)


def test_the_list_reports_status_round_membership_and_reference_counts(app, api_world, client):
    response = client.get("/api/v1/applications", headers=bearer(api_world["read"]))
    assert response.status_code == 200 and response.mimetype == "application/json"
    page = response.get_json()
    by_id = {item["id"]: item for item in page["items"]}
    submitted = by_id[api_world["submitted"]]
    assert submitted["status"] == "submitted" and submitted["references"] == {"submitted": 3}
    assert submitted["applicant"] == {"name": "Applicant A", "email": "a@example.org"}
    assert submitted["membership_status"] == "declared" and submitted["round"] is None
    assert by_id[api_world["draft"]]["status"] == "draft" and page["next_cursor"] is None
    one = client.get(f"/api/v1/applications/{api_world['submitted']}", headers=bearer(api_world["read"]))
    assert one.get_json() == submitted
    problem_of(client.get("/api/v1/applications/999999", headers=bearer(api_world["read"])), 404)


def test_no_response_carries_rating_content(app, api_world, client):
    with app.app_context():
        texts = [
            text
            for rating in db.session.scalars(sa.select(Rating))
            for text in (rating.strengths, rating.growth, rating.attestation_name, rating.relationship_role)
        ]
    assert texts
    bodies = [
        client.get(url, headers=bearer(api_world["read"])).get_data(as_text=True)
        for url in (
            "/api/v1/applications",
            "/api/v1/applications?limit=1",
            f"/api/v1/applications/{api_world['submitted']}",
            "/api/v1/openapi.json",
        )
    ]
    for body in bodies:
        for text in texts:
            assert text not in body


def test_changes_come_in_order_and_the_cursor_walks_every_one_once(app, api_world, client):
    key = bearer(api_world["read"])
    seen, cursor = [], None
    while True:
        url = "/api/v1/applications?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=key).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [api_world["submitted"], api_world["draft"]]  # the draft changed last
    first = client.get("/api/v1/applications", headers=key).get_json()["items"]
    since = first[0]["changed_at"]
    later = client.get("/api/v1/applications", headers=key, query_string={"changed_since": since}).get_json()
    assert [item["id"] for item in later["items"]] == [api_world["draft"]]
    # A change to A's application (a reviewer records the membership) moves it to the end.
    with app.app_context():
        from refportal.accounts.models import User
        from refportal.applications.models import Application
        from refportal.membership.services import verify_membership

        admin = db.session.scalars(sa.select(User).where(User.email == "admin@example.org")).one()
        verify_membership(
            application=db.session.get(Application, api_world["submitted"]), actor=admin, verified=True, note=""
        )
        db.session.commit()
    after = client.get("/api/v1/applications", headers=key, query_string={"changed_since": since}).get_json()
    assert [item["id"] for item in after["items"]] == [api_world["draft"], api_world["submitted"]]
    assert after["items"][-1]["membership_status"] == "verified"


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=100000",
        "limit=ten",
        "changed_since=yesterday",
        "changed_since=2026-01-01T00:00:00",  # no time zone
        "surprise=1",
        "cursor=" + "x" * 600,
        "changed_since=0001-01-01T00:00:00%2B01:00",  # before the first year a database holds
    ],
)
def test_bad_parameters_are_a_422_problem_with_the_field(app, api_world, client, query):
    body = problem_of(client.get(f"/api/v1/applications?{query}", headers=bearer(api_world["read"])), 422)
    assert body["errors"]["query"]


def test_a_cursor_from_elsewhere_is_a_400_problem(app, api_world, client):
    from itsdangerous import URLSafeTimedSerializer

    forged = URLSafeTimedSerializer("another portal's key", salt="api-cursor").dumps({"c": "2020", "i": 1})
    for cursor in (forged, "garbage", "eyJjIjoiMjAyMCIsImkiOjF9"):
        body = problem_of(
            app.test_client().get(f"/api/v1/applications?cursor={cursor}", headers=bearer(api_world["read"])), 400
        )
        assert "cursor" in body["detail"]


def test_other_methods_and_addresses_are_problems_not_pages(app, api_world, client):
    key = bearer(api_world["read"])
    problem_of(client.post("/api/v1/applications", headers=key, json={}), 405)
    problem_of(client.delete(f"/api/v1/applications/{api_world['submitted']}", headers=key), 405)
    problem_of(client.get("/api/v1/nothing-here", headers=key), 404)


def test_every_use_is_recorded_on_the_key_and_audited(app, api_world, client):
    client.get("/api/v1/applications", headers=bearer(api_world["read"]))
    client.get("/api/v1/applications?limit=0", headers=bearer(api_world["read"]))
    with app.app_context():
        key = db.session.scalars(sa.select(ApiKey).where(ApiKey.key_hash == key_hash(api_world["read"]))).one()
        assert key.last_used_at is not None
        uses = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "api_key.used", AuditEvent.object_id == key.id)
        ).all()
    assert [(u.details["path"], u.details["status"]) for u in uses] == [
        ("/api/v1/applications", 200),
        ("/api/v1/applications", 422),
    ]


def test_requests_are_rate_limited_per_key(make_app, api_world):
    app = make_app(RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per minute")
    del api_world  # the keys of the fixture's app are not this app's: make one here
    from tests.api.helpers import make_keys

    read, other = make_keys(app)
    client = app.test_client()
    codes = [client.get("/api/v1/applications", headers=bearer(read)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    problem_of(client.get("/api/v1/applications", headers=bearer(read)), 429)
    assert client.get("/api/v1/applications", headers=bearer(other)).status_code == 200  # another key


def test_made_up_keys_from_one_address_are_limited_too(make_app, api_world):
    app = make_app(RATELIMIT_ENABLED=True, API_RATE_LIMIT_PER_ADDRESS="3 per minute")
    del api_world
    client = app.test_client()
    codes = [client.get("/api/v1/applications", headers=bearer(f"rp_made-up-{n}")).status_code for n in range(4)]
    assert codes == [401, 401, 401, 429]


def test_the_openapi_description_and_its_page(app, api_world, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.") and "/api/v1/applications" in spec["paths"]
    operation = spec["paths"]["/api/v1/applications"]["get"]
    assert {"200", "401", "403", "422", "429"} <= set(operation["responses"])
    assert operation["security"] == [{"apiKey": []}]
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "GET /api/v1/applications" in page and "curl -H" in page


def test_an_administrator_creates_a_key_shown_once_and_stored_hashed(app, api_world):
    admin = logged_in(app, "admin@example.org")
    response = admin.submit(
        "/admin/api/keys", {"name": "Registry", "scopes": ["read:applications"]}, form_url="/admin/api/"
    )
    assert response.status_code == 200
    value = re.search(r"(rp_[A-Za-z0-9_-]{40,})", response.get_data(as_text=True)).group(1)
    assert value not in admin.get("/admin/api/").get_data(as_text=True)  # shown once
    with app.app_context():
        key = db.session.scalars(sa.select(ApiKey).where(ApiKey.name == "Registry")).one()
        assert key.key_hash == key_hash(value) and value not in json.dumps(key.scopes) + key.prefix * 0
        key_id = key.id
    assert app.test_client().get("/api/v1/applications", headers=bearer(value)).status_code == 200
    admin.submit(f"/admin/api/keys/{key_id}/revoke", {}, form_url="/admin/api/")
    problem_of(app.test_client().get("/api/v1/applications", headers=bearer(value)), 401)
    refused = admin.submit("/admin/api/keys", {"name": "No scope"}, form_url="/admin/api/")
    assert refused.status_code == 400 and "Choose at least one scope." in refused.get_data(as_text=True)


def test_reviewers_and_applicants_cannot_manage_keys(app, api_world):
    for email in ("a@example.org",):
        browser = logged_in(app, email)
        assert browser.get("/admin/api/").status_code == 404
    assert Browser(app.test_client()).get("/admin/api/").status_code == 302


def test_every_operation_taking_a_body_refuses_json_nested_too_deeply(app, api_world, client):
    """Each operation the OpenAPI description gives a JSON body answers a 400 problem to a body
    nested 100,000 deep (Python's decoder raised RecursionError: a 500)."""
    spec = client.get("/api/v1/openapi.json").get_json()
    with_body = [
        (method, path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and "application/json" in operation.get("requestBody", {}).get("content", {})
    ]
    assert with_body  # the roster import at least
    headers = {**bearer(api_world["all"]), "Idempotency-Key": "deep"}
    for method, path in with_body:
        assert "{" not in path, "fill in the path's parameters here"
        response = client.open(
            path,
            method=method.upper(),
            headers=headers,
            data=b"[" * 100_000 + b"]" * 100_000,
            content_type="application/json",
        )
        assert "nested too deeply" in problem_of(response, 400)["detail"], (method, path)


def test_a_use_answered_with_a_server_error_is_still_audited(app, api_world, client, monkeypatch):
    """The failed request keeps nothing else, but every use of a key stays on the trail."""
    import refportal.api.applications as api_applications

    def broken(*args, **kwargs):
        raise RuntimeError("a fault in the portal")

    monkeypatch.setattr(api_applications, "one_application", broken)
    app.config["TESTING"] = False  # the 500 problem document, as in production
    response = client.get(f"/api/v1/applications/{api_world['submitted']}", headers=bearer(api_world["read"]))
    assert response.status_code == 500 and response.is_json
    with app.app_context():
        key = db.session.scalars(sa.select(ApiKey).where(ApiKey.key_hash == key_hash(api_world["read"]))).one()
        uses = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == AuditAction.API_KEY_USED, AuditEvent.object_id == key.id)
        ).all()
    assert [use.details["status"] for use in uses] == [500]
