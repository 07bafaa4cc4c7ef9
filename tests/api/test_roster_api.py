"""POST /api/v1/roster: the CSV import's rows and rules as JSON, once per Idempotency-Key."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from refportal.api.parser import MAX_JSON_DEPTH
from refportal.audit.models import AuditEvent
from refportal.extensions import db
from refportal.membership.models import MembershipDeclaration, MembershipStatus
from tests.api.helpers import bearer, problem_of
from tests.api.roster import VALID_UNTIL, post, rows, status_of_a


def test_rows_are_matched_like_the_csv_import_and_reported(app, api_world, client):
    response = post(client, api_world["roster"], {"rows": rows()})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {
        "rows": 2,
        "matched": [{"row": 0, "applicant": "Applicant A"}],
        "unmatched": [1],
        "conflicts": [],
    }
    assert status_of_a(app) is MembershipStatus.VERIFIED
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "membership.roster_imported" in actions and "api_key.roster_imported" in actions


def test_a_reviewers_rejection_is_a_conflict_the_api_reports_and_keeps(app, api_world, client):
    with app.app_context():
        declaration = db.session.scalars(sa.select(MembershipDeclaration)).first()
        declaration.status = MembershipStatus.REJECTED
        db.session.commit()
        application_id = declaration.application_id
    response = post(client, api_world["roster"], {"rows": rows()})
    assert response.status_code == 200
    [conflict] = response.get_json()["conflicts"]
    assert conflict["row"] == 0 and conflict["application_id"] is None  # the roster key may not read applications
    assert "Applicant A" not in conflict["problem"] and "a@example.org" not in conflict["problem"]
    both = post(client, api_world["all"], {"rows": rows()}, idempotency_key="import-both").get_json()
    assert both["conflicts"][0]["application_id"] == application_id
    assert status_of_a(app) is MembershipStatus.REJECTED


def test_the_same_idempotency_key_replays_the_answer_and_imports_once(app, api_world, client):
    first = post(client, api_world["roster"], {"rows": rows()})
    again = post(client, api_world["roster"], {"rows": rows()})
    assert again.status_code == 200 and again.get_json() == first.get_json()
    with app.app_context():
        imports = db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "membership.roster_imported")
        )
    assert imports == 1
    other = post(client, api_world["roster"], {"rows": rows()[:1]})
    assert "used with another request" in problem_of(other, 409)["detail"]


def test_rows_with_faults_refuse_the_request_by_row_and_change_nothing(app, api_world, client):
    # The CSV import's own check (an address it can deliver to) refuses what the JSON schema lets by.
    bad = rows({"member_number": "IO-2", "email": "someone@localhost", "name": "X", "expires_on": VALID_UNTIL})
    body = problem_of(post(client, api_world["roster"], {"rows": bad}), 422)
    assert [p["row"] for p in body["errors"]["problems"]] == [2]
    assert "someone@localhost" in body["errors"]["problems"][0]["problem"]
    # Faults the schema sees are refused with the field of the row.
    bad = rows({"member_number": "IO-2", "email": "not an address", "name": "", "expires_on": "31/12/2030"})
    body = problem_of(post(client, api_world["roster"], {"rows": bad}, idempotency_key="import-2"), 422)
    assert set(body["errors"]["json"]["rows"]["2"]) == {"email", "name", "expires_on"}
    assert status_of_a(app) is MembershipStatus.DECLARED


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        ({"rows": []}, 422),
        ({"rows": "IO-1"}, 422),
        ({"rows": [{"member_number": 7, "email": "a@example.org", "name": "A", "expires_on": "2030-01-01"}]}, 422),
        ({"rows": [{"member_number": "IO-1"}]}, 422),
        ({"rows": rows(), "extra": True}, 422),
        ({"rows": [{**rows()[0], "note": "unknown field"}]}, 422),
        ({"rows": [rows()[0]] * 5001}, 422),
    ],
)
def test_malformed_bodies_are_problems_and_change_nothing(app, api_world, client, body, status):
    problem_of(post(client, api_world["roster"], body), status)
    assert status_of_a(app) is MembershipStatus.DECLARED


def test_the_idempotency_key_is_required_and_the_scope_too(app, api_world, client):
    assert "Idempotency-Key" in str(problem_of(post(client, api_world["roster"], {"rows": rows()}, None), 422))
    problem_of(post(client, api_world["read"], {"rows": rows()}), 403)
    assert status_of_a(app) is MembershipStatus.DECLARED


def nested(depth: int, shape: str) -> bytes:
    """JSON nested `depth` deep: arrays, objects, or either inside a roster row."""
    if shape == "arrays":
        return b"[" * depth + b"]" * depth
    if shape == "objects":
        return b'{"a":' * depth + b"1" + b"}" * depth
    inner = b"[" * depth + b"]" * depth
    if shape == "in rows":
        return b'{"rows": ' + inner + b"}"
    row = b'{"member_number": ' + inner + b', "email": "a@example.org", "name": "A", "expires_on": "2030-01-01"}'
    return b'{"rows": [' + row + b"]}"


@pytest.mark.parametrize("shape", ["arrays", "objects", "in rows", "in a row"])
@pytest.mark.parametrize("depth", [29, 30, 32, 33, 990, 5_000, 100_000])
def test_json_nested_too_deeply_is_a_problem_not_a_crash(app, api_world, client, depth, shape):
    """Python's JSON decoder gives up on deep nesting (RecursionError, a 500 before): a body nested beyond
    what any request needs is a 400, one within it the 422 of a body of the wrong shape; nothing changes."""
    response = post(client, api_world["roster"], nested(depth, shape), idempotency_key=f"deep-{depth}-{shape}")
    deep = depth + {"arrays": 0, "objects": 0, "in rows": 1, "in a row": 3}[shape] > MAX_JSON_DEPTH
    body = problem_of(response, 400 if deep else 422)
    assert ("nested too deeply" in body["detail"]) is deep
    assert status_of_a(app) is MembershipStatus.DECLARED


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]
)
def test_a_body_that_is_not_json_is_a_415_problem(app, api_world, client, content_type):
    """A JSON body under another content type was read as no body at all ("rows: missing", 422)."""
    response = client.post(
        "/api/v1/roster",
        headers={**bearer(api_world["roster"]), "Idempotency-Key": "not-json"},
        data=b'{"rows": []}',
        content_type=content_type,
    )
    assert "application/json" in problem_of(response, 415)["detail"]
    assert status_of_a(app) is MembershipStatus.DECLARED


@pytest.mark.parametrize("body", [b"1" * 5_000, b'{"rows": [{"member_number": ' + b"9" * 5_000 + b"}]}"])
def test_a_number_with_more_digits_than_python_reads_is_a_problem_not_a_crash(app, api_world, client, body):
    """Python refuses to read an integer of more than 4,300 digits (a ValueError, a 500 before)."""
    response = post(client, api_world["roster"], body, idempotency_key="long-number")
    assert "too many digits" in problem_of(response, 400)["detail"]
    assert status_of_a(app) is MembershipStatus.DECLARED
