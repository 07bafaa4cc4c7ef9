"""What the suite needs from its surroundings, for the fixtures and for tests that build their own
apps: real components (a missing one is a visible skip, or a failure when REFPORTAL_REQUIRE_ALL=1),
the test database (SQLite by default, PostgreSQL when TEST_DATABASE_URL is set) and an app's test
settings. A plain module: conftest.py files and tests import from here, never from a conftest."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading

import pytest
import sqlalchemy as sa

from refportal import create_app
from refportal.extensions import db

REQUIRE_ALL = os.environ.get("REFPORTAL_REQUIRE_ALL") == "1"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()


def require(component: str, reason: str) -> None:
    """Skip (or, under REFPORTAL_REQUIRE_ALL=1, fail) because a real component is missing."""
    message = f"{component} unavailable: {reason}"
    if REQUIRE_ALL:
        pytest.fail(f"REFPORTAL_REQUIRE_ALL=1 and {message}", pytrace=False)
    pytest.skip(message)


def postgres_url() -> str | None:
    """The test database: TEST_DATABASE_URL's, or under pytest-xdist one per worker beside it
    (`test_gw0`, `test_gw1`, ...), so workers never share a schema."""
    if not TEST_DATABASE_URL:
        return None
    url = sa.engine.make_url(re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", TEST_DATABASE_URL))
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        url = url.set(database=f"{url.database}_{worker}")
    return url.render_as_string(hide_password=False)


def is_test_database(name: str | None) -> bool:
    """The suite drops and rebuilds the schema: only in a database whose name says it is for tests."""
    return bool(name) and (name.lower().startswith("test") or name.lower().endswith("test"))


def create_worker_database(url: str) -> None:
    name = sa.engine.make_url(url).database
    base = sa.engine.make_url(re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", TEST_DATABASE_URL))
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def base_config(tmp_path, database_url: str) -> dict:
    return {
        "ENV_NAME": "test",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-used-only-by-the-test-suite",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PORTAL_BASE_URL": "https://portal.example.test",
        "MAIL_SERVER": None,
        "MAIL_VIEWER": True,
        "RATELIMIT_ENABLED": False,
        # Cheap argon2id parameters keep the suite fast; production uses the library defaults.
        # No clamd unless a test starts one (the clamd_server fixture): uploads stay pending.
        "CLAMD_ADDRESS": "",
        "ARGON2_PARAMETERS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
    }


def reset_postgres(engine) -> None:
    """Drop whatever an earlier run left and create the current schema."""
    assert is_test_database(engine.url.database), f"refusing to drop the schema of {engine.url.database!r}"
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
        db.metadata.create_all(conn)
        mark_schema_current(conn)


@functools.cache
def _migration_heads() -> tuple[str, ...]:
    from refportal.startup import migration_heads

    return tuple(sorted(migration_heads()))


def mark_schema_current(connection) -> None:
    """Record the migrations' head in a schema built by create_all, as `flask db upgrade` leaves it
    (the production start-up check and /readyz read it)."""
    connection.execute(
        sa.text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    )
    connection.execute(sa.text("DELETE FROM alembic_version"))
    for head in _migration_heads():
        connection.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": head})


def run_together(*calls):
    """Start every call at the same moment in its own thread; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def runner(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - reported as the result
            results[index] = exc

    threads = [threading.Thread(target=runner, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def empty_database_app(tmp_path, postgres_schema):
    if postgres_schema is None:
        return create_app(base_config(tmp_path, f"sqlite:///{tmp_path / 'migrated.db'}")), None
    engine = sa.create_engine(postgres_schema)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    return create_app(base_config(tmp_path, postgres_schema)), engine


@contextlib.contextmanager
def migrating_app(tmp_path, postgres_schema):
    """An app on an empty database (a SQLite file, or PostgreSQL's schema emptied), inside its app context,
    for a test that runs the migrations; afterwards PostgreSQL's schema is the current one again."""
    app, pg_engine = empty_database_app(tmp_path, postgres_schema)
    try:
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        if pg_engine is not None:
            reset_postgres(pg_engine)
            pg_engine.dispose()


ACCOUNT_COLUMNS = ("id", "email", "name", "password_hash", "role", "created_at")


def insert_accounts(conn, names, created_at) -> None:
    """Applicant accounts (id, name) written in SQL, for a test that runs the migrations (the models may
    be ahead of the schema it is at)."""
    accounts = sa.table("user_account", *(sa.column(column) for column in ACCOUNT_COLUMNS))
    for account_id, name in names:
        conn.execute(
            sa.insert(accounts).values(
                id=account_id,
                email=f"u{account_id}@example.org",
                name=name,
                password_hash="x",
                role="applicant",
                created_at=created_at,
            )
        )
