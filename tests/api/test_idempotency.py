"""The Idempotency-Key under concurrency: duplicates racing the first request are answered as it was
(or told to retry while it is still being processed), never with a 500, and the rows are applied once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from refportal.api import roster_requests as roster
from refportal.api.keys import key_hash
from refportal.api.models import ApiKey, IdempotentRequest
from refportal.audit.models import AuditEvent
from refportal.extensions import db
from refportal.membership.models import MembershipStatus
from tests.api.helpers import bearer, problem_of
from tests.api.roster import post, rows, status_of_a
from tests.support import require, run_together

RACERS = 12


def audit_count(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == action))


def key_id(app, key: str) -> int:
    with app.app_context():
        return db.session.scalars(sa.select(ApiKey.id).where(ApiKey.key_hash == key_hash(key))).one()


def test_concurrent_duplicates_get_the_first_answer_and_the_rows_are_applied_once(app, api_world):
    """Real threads, one connection each: on PostgreSQL the duplicates wait for the first request and
    replay its answer; on SQLite the unique constraint turns the losers' work back into a replay."""
    headers = {**bearer(api_world["roster"]), "Idempotency-Key": "import-race"}
    clients = [app.test_client() for _ in range(RACERS)]
    responses = run_together(
        *[(lambda c=c: c.post("/api/v1/roster", headers=headers, json={"rows": rows()})) for c in clients]
    )
    assert not [r for r in responses if isinstance(r, Exception)], responses
    assert [r.status_code for r in responses] == [200] * RACERS, [r.get_data(as_text=True) for r in responses]
    answers = [r.get_json() for r in responses]
    assert all(answer == answers[0] for answer in answers)
    assert answers[0]["matched"] == [{"row": 0, "applicant": "Applicant A"}]
    assert status_of_a(app) is MembershipStatus.VERIFIED
    for action in ("api_key.roster_imported", "membership.roster_imported", "membership.verified"):
        assert audit_count(app, action) == 1, action
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(IdempotentRequest.id))) == 1


def test_a_duplicate_while_the_first_is_still_processed_is_told_to_retry(app, api_world, monkeypatch):
    """The first request's transaction holds its Idempotency-Key's lock (here a separate connection
    holds it, as a request still importing would): a duplicate waits, then answers 409 with
    Retry-After and changes nothing; once the first is done, the request goes through."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            require("PostgreSQL", "the in-flight lock is PostgreSQL's advisory lock (set TEST_DATABASE_URL)")
        lock = roster.lock_id(key_id(app, api_world["roster"]), "import-slow")
        monkeypatch.setattr(roster, "IN_FLIGHT_WAIT", "300ms")
        first = db.engine.connect()
        first.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock})
    try:
        response = post(app.test_client(), api_world["roster"], {"rows": rows()}, idempotency_key="import-slow")
        body = problem_of(response, 409)
        assert "still being processed" in body["detail"] and response.headers["Retry-After"] == "1"
        assert status_of_a(app) is MembershipStatus.DECLARED
        assert audit_count(app, "api_key.roster_imported") == 0
    finally:
        first.rollback()
        first.close()
    again = post(app.test_client(), api_world["roster"], {"rows": rows()}, idempotency_key="import-slow")
    assert again.status_code == 200 and status_of_a(app) is MembershipStatus.VERIFIED


@pytest.mark.parametrize("same_body", [True, False])
def test_a_request_that_loses_the_race_at_commit_replays_the_winners_answer(app, api_world, monkeypatch, same_body):
    """Another request with the key commits its answer between this one's look-up and its commit (on any
    database, whatever made them not wait for each other): the unique constraint refuses this one's
    record, its changes are rolled back, and it answers as the winner did (409 for another body)."""
    winner = {"rows": 2, "matched": [], "unmatched": [0, 1], "conflicts": []}
    original = roster.import_roster
    roster_key = key_id(app, api_world["roster"])

    def import_after_the_winner_committed(**arguments):
        with db.engine.begin() as other:  # another connection: another request's transaction
            other.execute(
                sa.insert(IdempotentRequest).values(
                    api_key_id=roster_key,
                    idempotency_key="import-lost",
                    request_hash=roster.request_hash_of(rows() if same_body else rows()[:1]),
                    status=200,
                    response=winner,
                )
            )
        return original(**arguments)

    monkeypatch.setattr(roster, "import_roster", import_after_the_winner_committed)
    response = post(app.test_client(), api_world["roster"], {"rows": rows()}, idempotency_key="import-lost")
    if same_body:
        assert response.status_code == 200 and response.get_json() == winner
    else:
        assert "used with another request" in problem_of(response, 409)["detail"]
    assert status_of_a(app) is MembershipStatus.DECLARED  # this request's own import was rolled back
    assert audit_count(app, "api_key.roster_imported") == 0
    assert audit_count(app, "membership.roster_imported") == 0


@pytest.mark.parametrize("idempotency_key", ["a\x00b", "\x00", "tab\there", "caf\xe9", "\x7f"])
def test_an_idempotency_key_with_control_or_non_ascii_characters_is_a_422(app, api_world, idempotency_key):
    """PostgreSQL cannot store a NUL: such a key was a 500 there. Keys are printable ASCII."""
    response = post(app.test_client(), api_world["roster"], {"rows": rows()}, idempotency_key=idempotency_key)
    assert "Idempotency-Key" in problem_of(response, 422)["errors"]["headers"]
    assert status_of_a(app) is MembershipStatus.DECLARED
