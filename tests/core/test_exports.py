"""Every CSV export (and the registry's JSON) at scale: the same bytes as when they were written whole;
sent as they are written (the queue's and the fees'), or spooled to disk with the very ETag of their bytes
(the registry's); a fixed number of statements and the same peak memory for ten times the rows."""

from __future__ import annotations

import hashlib
import tracemalloc
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from refportal import web
from refportal.accounts.models import Role
from refportal.endorsements import registry
from refportal.extensions import db
from refportal.payments import exports as fee_exports
from refportal.reviews import queue_query
from tests.builders import logged_in
from tests.factories import make_user
from tests.reviews.helpers import statements_for

T = datetime(2026, 2, 3, 10, 20, 30, 123456, tzinfo=UTC)
# Text a CSV must quote or defuse: commas, quotes, line breaks, formulas, accents.
TEXTS = ['Ana "Ace", Alvarez', "=HYPERLINK(1)", "Line\nbreak", "+1 555", "@SUM(A1)", "-2", "Zoë Ñandú", "Plain"]
REVIEWER, ADMIN = "rev@example.org", "admin@example.org"
EXPORTS = {
    "queue": (REVIEWER, "/review/export.csv"),
    "queue by name, submitted": (REVIEWER, "/review/export.csv?sort=name&status=submitted"),
    "fee accounts": (ADMIN, "/staff/fees.csv"),
    "fee ledger": (ADMIN, "/staff/fees/ledger.csv"),
    "registry csv": (None, "/registry/export.csv"),
    "registry json": (None, "/registry/export.json"),
}


def add_rows(app, start: int, count: int) -> None:
    """`count` applicants from `start` (ids from 100,000), each with an application (a quarter drafts), a
    verified membership, a fee account with a charge (every second a payment, every fourth refunded,
    every third a waiver) and a listed endorsement (every second showing a city): written in bulk,
    every value fixed."""
    meta = db.metadata.tables
    with app.app_context(), db.engine.begin() as conn:
        rows = range(100_000 + start, 100_000 + start + count)

        def text(i: int) -> str:
            return TEXTS[i % len(TEXTS)]

        conn.execute(
            meta["user_account"].insert(),
            [
                dict(id=i, email=f"p{i}@example.org", name=f"P{i} {text(i)}", password_hash="x", role="applicant")
                | dict(created_at=T, session_version=1, language="en")
                for i in rows
            ],
        )
        conn.execute(
            meta["application"].insert(),
            [
                dict(id=i, applicant_id=i, credential="imh-e" if i % 2 else "ecmh-e", category=1 + i % 4)
                | dict(status="draft" if i % 4 == 3 else "submitted", created_at=T, updated_at=T, changed_at=T)
                | dict(submitted_at=None if i % 4 == 3 else T - timedelta(minutes=i % 97), review_round=1)
                | dict(eligibility_source="entries")
                for i in rows
            ],
        )
        conn.execute(
            meta["membership_declaration"].insert(),
            [
                dict(application_id=i, kind="current_member", association="infancy_onward", member_number=f"IO-{i}")
                | dict(expires_on=date(2099, 1, 1), status="verified", declared_at=T)
                for i in rows
            ],
        )
        conn.execute(
            meta["fee_account"].insert(),
            [
                dict(id=i, payer_id=i, application_id=i, label=f"{text(i + 1)} fee", currency="USD", created_at=T)
                for i in rows
            ],
        )
        conn.execute(
            meta["fee_charge"].insert(),
            [
                dict(account_id=i, kind="application", amount_cents=2500 + i % 7)
                | dict(created_at=T - timedelta(hours=i % 50))
                for i in rows
            ],
        )
        conn.execute(
            meta["fee_payment"].insert(),
            [
                dict(id=i, account_id=i, method="cheque", amount_cents=1000, currency="USD", received_on=T.date())
                | dict(reference=text(i + 2), created_at=T - timedelta(minutes=i % 50))
                for i in rows
                if i % 2 == 0
            ],
        )
        refunds = [i for i in rows if i % 4 == 0]
        if refunds:
            conn.execute(
                meta["fee_refund"].insert(),
                [dict(payment_id=i, amount_cents=100, reason=text(i + 3), created_at=T) for i in refunds],
            )
        waivers = [i for i in rows if i % 3 == 0]
        if waivers:
            conn.execute(
                meta["fee_waiver"].insert(),
                [
                    dict(account_id=i, kind="waiver", amount_cents=500, reason=text(i + 4), created_at=T)
                    for i in waivers
                ],
            )
        conn.execute(
            meta["endorsement"].insert(),
            [
                dict(id=i, number=f"IMH-{i:08d}", holder_id=i, credential="imh-e", category=1 + i % 4)
                | dict(issued_on=date(2026, 1, 5), period_starts_on=date(2026, 1, 5), period_ends_on=date(2099, 1, 4))
                | dict(status="active", status_changed_at=T, created_at=T, updated_at=T)
                for i in rows
            ],
        )
        conn.execute(
            meta["registry_listing"].insert(),
            [
                dict(holder_id=i, listed=True, show_city=i % 2 == 0, city=f"{text(i + 5)}, ON", updated_at=T)
                for i in rows
            ],
        )


@pytest.fixture
def people(app):
    with app.app_context():
        make_user(email=REVIEWER, name="Rita Reviewer", role=Role.REVIEWER)
        make_user(email=ADMIN, name="Alex Admin", role=Role.ADMIN)
    return {REVIEWER: logged_in(app, REVIEWER), ADMIN: logged_in(app, ADMIN), None: app.test_client()}


def body_of(clients, name: str) -> bytes:
    who, url = EXPORTS[name]
    response = clients[who].get(url)
    assert response.status_code == 200, (name, response.status_code)
    return response.get_data()


# What each export sent for add_rows(app, 0, 10) when they were written whole (refportal before they were
# streamed, on SQLite), as SHA-256 of the bytes.
EXPECTED_SHA256 = {
    "queue": "555e50f52c3507a087b101ad2f7a89d794c71c09d31b2c4636f25818874718ff",
    "queue by name, submitted": "795fcafdb29eab2fbe7d51b5f671769100471ddf8916116f4065dfc3e3c78e55",
    "fee accounts": "ab84c15133b01cd2ca97a41073aa3e31e5e0e6bf6ff9937ff58f539052415314",
    "fee ledger": "1092ad2d80e04d014ecae0b989f3f2c4c871b7674232c1e1bcff014740c6be1e",
    "registry csv": "96042ab9ff5e5420fda6c949430bfe7a3f2f6cb25719c536593cd46aaa246fe4",
    "registry json": "b5a9a6eec850685fa2ede2795e9d8db88542c952ebe913be16312e81a25649be",
}


def test_each_export_sends_the_bytes_it_sent_when_written_whole(app, people):
    add_rows(app, 0, 10)
    found = {name: hashlib.sha256(body_of(people, name)).hexdigest() for name in EXPORTS}
    assert found == EXPECTED_SHA256


def test_the_exports_quote_and_defuse_their_cells(app, people):
    add_rows(app, 0, 10)
    queue = body_of(people, "queue").decode()
    assert queue.startswith("application_id,applicant,email,credential,category,status,submitted_at,")
    assert '"P100000 Ana ""Ace"", Alvarez"' in queue
    assert ",'=HYPERLINK(1) fee," in body_of(people, "fee accounts").decode()
    assert '"P100002 Line\nbreak"' in queue
    ledger = body_of(people, "fee ledger").decode()
    assert "'+1 555" in ledger and "\r\n" in ledger
    registry_csv = body_of(people, "registry csv").decode()
    assert "\r\n" not in registry_csv and 'IMH-00100000,"P100000 Ana ""Ace"", Alvarez",' in registry_csv
    assert ',"\'=HYPERLINK(1), ON"' in registry_csv


def test_the_queue_and_fee_exports_are_sent_as_they_are_written(app, people):
    add_rows(app, 0, 3)
    for name in ("queue", "fee accounts", "fee ledger"):
        who, url = EXPORTS[name]
        with people[who].get(url) as response:  # closed before the next request, as a server does
            assert response.is_streamed and "Content-Length" not in response.headers, name
            assert response.headers["Cache-Control"] == "no-store", name
            assert "attachment" in response.headers["Content-Disposition"], name


def test_the_registry_exports_keep_the_etag_of_their_bytes(app, people):
    add_rows(app, 0, 3)
    for name in ("registry csv", "registry json"):
        response = people[None].get(EXPORTS[name][1])
        data = response.get_data()
        assert response.headers["ETag"] == f'"{hashlib.sha1(data).hexdigest()}"', name  # noqa: S324 - Werkzeug's
        assert response.headers["Content-Length"] == str(len(data)), name
        again = people[None].get(EXPORTS[name][1], headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.get_data() == b"", name


def test_a_holders_deactivation_moves_the_registry_exports_etag_not_their_date(app, people):
    """Why the registry's exports keep the ETag of their bytes (and are spooled, not streamed): the change
    time they are dated by does not see a holder's account deactivated, their bytes do."""
    add_rows(app, 0, 3)
    client, url = people[None], EXPORTS["registry csv"][1]
    before = client.get(url)
    with app.app_context():
        db.session.execute(sa.text("UPDATE user_account SET deactivated_at = :t WHERE id = 100000"), {"t": T})
        db.session.commit()
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and b"P100000" in before.get_data() and b"P100000" not in after.get_data()
    assert after.headers["Last-Modified"] == before.headers["Last-Modified"]


@pytest.fixture
def small_batches(monkeypatch):
    """The exports fetch their rows 20 at a time (500 in production), so 100 rows are five batches, and a
    spooled body is sent 4 KB at a time (64 KB in production)."""
    monkeypatch.setattr(queue_query, "EXPORT_BATCH", 20)
    monkeypatch.setattr(fee_exports, "BATCH", 20)
    monkeypatch.setattr(registry, "EXPORT_BATCH", 20)
    monkeypatch.setattr(web, "SPOOL_CHUNK", 4096)


def test_an_export_of_ten_times_the_rows_runs_the_same_statements(app, people, small_batches):
    def counts() -> dict[str, int]:
        return {name: statements_for(app, _Reader(people[who]), url) for name, (who, url) in EXPORTS.items()}

    add_rows(app, 0, 100)
    small = counts()
    add_rows(app, 100, 900)
    assert counts() == small, small


class _Reader:
    """A client whose GET reads the whole body (the statements of a streamed export run as it is sent)."""

    def __init__(self, client):
        self.client = client

    def get(self, url):
        response = self.client.get(url)
        response.get_data()
        return response


def peak_while_sending(client, url: str) -> tuple[int, int]:
    """(the peak of memory allocated while the export is produced and read chunk by chunk, its size)."""
    tracemalloc.start()
    try:
        response = client.get(url)
        size = sum(len(chunk) for chunk in response.response)
        response.close()
        return tracemalloc.get_traced_memory()[1], size
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", list(EXPORTS))
def test_an_export_of_ten_times_the_rows_takes_no_more_memory(app, people, small_batches, name):
    """The peak while 2,000 rows are sent is within 30% of the peak for 200 (written whole, the 2,000
    rows' text and objects alone would be ten times the 200's)."""
    who, url = EXPORTS[name]
    add_rows(app, 0, 200)
    peak_while_sending(people[who], url)  # the statements compiled and cached once
    small, small_size = peak_while_sending(people[who], url)
    add_rows(app, 200, 1800)
    large, large_size = peak_while_sending(people[who], url)
    assert large_size > 8 * small_size, (small_size, large_size)
    assert large < 1.3 * small, (name, small, large, small_size, large_size)
