"""Fixtures in the Flask-tutorial style: app, client, runner, login, a fresh database per test,
the outbox, a real SMTP server on loopback, and the shared states of an application (three referees
asked, three ratings, a submitted file with its reviewers).

The suite runs on SQLite (a new file per test) by default and on PostgreSQL when
TEST_DATABASE_URL is set (the schema built once, tables emptied after each test). A missing real
component is a visible skip, or a failure when REFPORTAL_REQUIRE_ALL=1.

Nothing imports this module: helpers live in plain modules (tests/support.py, tests/web.py,
tests/factories.py, tests/builders.py), checked by tests/core/test_suite_hygiene.py.
"""

from __future__ import annotations

import os

# A developer's .env must not change what the tests see (read before refportal is imported).
os.environ["REFPORTAL_SKIP_DOTENV"] = "1"

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

import refportal.models  # noqa: E402, F401  (every table, for create_all)
from refportal import create_app  # noqa: E402
from refportal.accounts.models import Role  # noqa: E402
from refportal.applications.models import Application  # noqa: E402
from refportal.db import utc_today  # noqa: E402
from refportal.extensions import db  # noqa: E402
from refportal.mail.models import OutboxEmail  # noqa: E402
from refportal.reviews.assignments import assign  # noqa: E402
from refportal.submission.services import submit_application  # noqa: E402
from tests.builders import ask_three_referees, rate, ready_application  # noqa: E402
from tests.factories import make_user  # noqa: E402
from tests.support import (  # noqa: E402
    REQUIRE_ALL,
    base_config,
    create_worker_database,
    is_test_database,
    mark_schema_current,
    postgres_url,
    require,
    reset_postgres,
)
from tests.web import Browser  # noqa: E402

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
            create_worker_database(url)
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
# Shared states of an application, built in-process by tests/builders.py and committed (requests
# through the test client see them). Applicant A (a@example.org); referees: builders.REFEREES.


def _loaded(application: Application) -> Application:
    """Commit, and load the application's references and ratings so the test reads them after the
    app context ends."""
    db.session.commit()
    db.session.refresh(application)
    for reference in application.references:
        db.session.refresh(reference)
        _ = reference.rating
    _ = application.applicant, application.membership
    return application


@pytest.fixture
def application_with_three_referees_asked(app) -> Application:
    """Applicant A's eligible category 2 IMH-E application with a declared membership, its three
    referees nominated and asked (each has a link, none has answered)."""
    with app.app_context():
        applicant = make_user(email="a@example.org", name="Applicant A")
        application = ready_application(applicant)
        ask_three_referees(application)
        return _loaded(application)


@pytest.fixture
def application_with_three_ratings(app, application_with_three_referees_asked) -> Application:
    """The same application with its three referees' counted ratings in (scores 5, 4 and 3, in the
    order of builders.REFEREES), not yet submitted."""
    with app.app_context():
        application = db.session.get(Application, application_with_three_referees_asked.id)
        references = sorted(application.references, key=lambda reference: reference.id)
        rate(references, ("5", "4", "3"))
        return _loaded(application)


@pytest.fixture
def people(app, application_with_three_ratings):
    """Applicants A and B (A's application with three ratings submitted), a reviewer, a second
    reviewer, an admin; the two reviewers assigned to A's file."""
    with app.app_context():
        make_user(email="b@example.org", name="Applicant B")
        rita = make_user(email="rev@example.org", name="Rita Reviewer", role=Role.REVIEWER)
        rafe = make_user(email="rev2@example.org", name="Rafe Reviewer", role=Role.REVIEWER)
        admin = make_user(email="admin@example.org", name="Alex Admin", role=Role.ADMIN)
        application = db.session.get(Application, application_with_three_ratings.id)
        submit_application(application=application, actor=application.applicant, today=utc_today())
        db.session.commit()
        for reviewer in (rita, rafe):  # the file's two reviewers
            assign(application=application, reviewer=reviewer, actor=admin)
        db.session.commit()
        return {"application_id": application.id}


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
