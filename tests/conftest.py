"""Fixtures in the Flask-tutorial style: app, client, runner, login, a fresh database per test,
the outbox, and a real SMTP server on loopback.

The suite runs on SQLite (a new file per test) by default and on PostgreSQL when
TEST_DATABASE_URL is set (the schema built once, tables emptied after each test). A missing real
component is a visible skip, or a failure when REFPORTAL_REQUIRE_ALL=1.
"""

from __future__ import annotations

import functools
import os
import re

# A developer's .env must not change what the tests see (read before refportal is imported).
os.environ["REFPORTAL_SKIP_DOTENV"] = "1"

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

import refportal.models  # noqa: E402, F401  (every table, for create_all)
from refportal import create_app  # noqa: E402
from refportal.extensions import db  # noqa: E402
from refportal.mail.models import OutboxEmail  # noqa: E402
from tests.factories import DEFAULT_PASSWORD  # noqa: E402

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


def _create_worker_database(url: str) -> None:
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


# Under REFPORTAL_REQUIRE_ALL=1 every test must run: any skip, whatever its cause, fails the session.
SKIPPED: list[str] = []


def pytest_runtest_logreport(report) -> None:
    if report.skipped:
        SKIPPED.append(f"{report.nodeid}: {report.longrepr[-1] if isinstance(report.longrepr, tuple) else ''}")


def pytest_sessionfinish(session, exitstatus) -> None:
    if REQUIRE_ALL and SKIPPED and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    if REQUIRE_ALL and SKIPPED:
        terminalreporter.write_line(
            f"REFPORTAL_REQUIRE_ALL=1 and {len(SKIPPED)} test(s) skipped: the run fails.", red=True
        )
        for line in SKIPPED:
            terminalreporter.write_line(f"  {line}", red=True)


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
        # No clamd unless a test starts one (the clamd_server fixture): uploads stay pending.
        "CLAMD_ADDRESS": "",
        # Cheap argon2id parameters keep the suite fast; production uses the library defaults.
        "ARGON2_PARAMETERS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
    }


@pytest.fixture(scope="session")
def postgres_schema():
    """On PostgreSQL: build the schema once for the session (None on SQLite)."""
    url = postgres_url()
    if url is None:
        if REQUIRE_ALL:
            pytest.fail("REFPORTAL_REQUIRE_ALL=1 but TEST_DATABASE_URL is not set", pytrace=False)
        return None
    name = sa.engine.make_url(url).database
    if not is_test_database(name):
        pytest.exit(
            f"TEST_DATABASE_URL names the database {name!r}: the suite drops its schema, so it runs only "
            "on a database whose name starts or ends with 'test'.",
            returncode=4,
        )
    if os.environ.get("PYTEST_XDIST_WORKER"):
        try:
            _create_worker_database(url)
        except sa.exc.OperationalError as exc:
            require("PostgreSQL", str(exc).splitlines()[0])
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        require("PostgreSQL", str(exc).splitlines()[0])
    reset_postgres(engine)
    engine.dispose()
    return url


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


@pytest.fixture
def make_app(tmp_path, postgres_schema):
    """A factory for apps on this test's database, with extra settings."""
    apps = []
    database_url = postgres_schema or f"sqlite:///{tmp_path / 'test.db'}"

    def factory(**overrides):
        app = create_app({**base_config(tmp_path, database_url), **overrides})
        if postgres_schema is None:
            with app.app_context():
                db.create_all()
                with db.engine.begin() as connection:
                    mark_schema_current(connection)
        apps.append(app)
        return app

    yield factory

    for app in apps:
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                tables = ", ".join(t.name for t in db.metadata.sorted_tables)
                with db.engine.begin() as conn:
                    conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                    mark_schema_current(conn)  # a test may have moved it
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Browser:
    """The test client used as a person would: GET the form, then POST it with its CSRF token."""

    def __init__(self, client):
        self.client = client

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def submit(self, url, data, *, form_url=None, follow_redirects=False):
        page = self.client.get(form_url or url)
        assert page.status_code == 200, f"GET {form_url or url} answered {page.status_code}"
        payload = {"csrf_token": csrf_token_from(page.get_data(as_text=True)), **data}
        return self.client.post(url, data=payload, follow_redirects=follow_redirects)

    def login(self, email, password=DEFAULT_PASSWORD):
        response = self.submit("/login", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    def logout(self):
        return self.submit("/logout", {}, form_url="/dashboard")


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def outbox(app):
    """A function returning the outbox rows, oldest first."""

    def rows(to: str | None = None):
        with app.app_context():
            query = sa.select(OutboxEmail).order_by(OutboxEmail.id)
            if to:
                query = query.where(OutboxEmail.to_address == to)
            found = list(db.session.scalars(query))
            db.session.expunge_all()
            return found

    return rows


def link_in(text: str, path_prefix: str) -> str:
    """The first link in an e-mail text whose path starts with `path_prefix`, as a local path."""
    match = re.search(r"https://portal\.example\.test(" + re.escape(path_prefix) + r"[^\s\"<&]*)", text)
    assert match, f"no {path_prefix} link in:\n{text}"
    return match.group(1)


@pytest.fixture
def smtp_server():
    """A running aiosmtpd server on loopback; the portal's MAIL_SERVER points at it."""
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        require("aiosmtpd", "the dev extra is not installed (pip install -e '.[dev]')")
    from tests.smtp import SMTPServer

    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_app(make_app, smtp_server):
    """An app whose MAIL_SERVER is the loopback SMTP server."""
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_TIMEOUT_SECONDS=5)


# ------------------------------------------------------------------------------------------------
# Production apps (start-up checks need a database at the migrations' head)


@pytest.fixture
def production(app, tmp_path):
    """A factory for production apps on the test's database (its schema at the migrations' head)."""
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    apps = []

    def factory(**overrides):
        settings = {**base_config(tmp_path, database_url), "ENV_NAME": "production", "TESTING": False}
        del settings["MAIL_VIEWER"]  # production's own defaults (no mail viewer, Secure cookies)
        settings.update(overrides)
        app = create_app(settings)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def imap_server():
    """A real IMAP server (Debian's dovecot) on a free loopback port, with one empty mailbox."""
    from tests.imap import DovecotServer, dovecot_binary

    if dovecot_binary() is None:
        require("dovecot", "Debian's dovecot-imapd is not installed (make dovecot, as root)")
    server = DovecotServer().start()
    yield server
    server.stop()


# ------------------------------------------------------------------------------------------------
# The document store's real servers: clamd (Debian's clamav-daemon) and an S3-compatible object store


@pytest.fixture(scope="session")
def clamd_server():
    """clamd on loopback (TCP and a unix socket) with the tests' own signatures (EICAR and the files
    documents_servers.INFECTED_TEST_FILES names); shared by the session (it takes seconds to start)."""
    from tests.documents_samples import INFECTED_TEST_FILES
    from tests.documents_servers import ClamdServer, clamd_binary

    if clamd_binary() is None:
        require("clamd", "Debian's clamav-daemon is not installed (make system-packages, as root)")
    server = ClamdServer(INFECTED_TEST_FILES).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3-compatible server on loopback."""
    from tests.documents_servers import MotoServer, moto_binary

    if moto_binary() is None:
        require("moto_server", "the dev extra is not installed (pip install -e '.[dev]')")
    server = MotoServer().start()
    yield server
    server.stop()
