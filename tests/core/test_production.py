"""Production behaviour of the app itself: start-up refusals, the proxy setting, health checks and
the JSON request log. (tests/deploy runs the built wheel behind nginx with gunicorn, Redis and the worker.)"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from flask_migrate import stamp

from refportal import TEMPLATE_CACHE_FOLDER, create_app
from refportal.accounts.models import User
from refportal.config import ConfigurationError, load_config
from refportal.db import utcnow
from refportal.extensions import db, limiter
from refportal.mail.models import OutboxEmail
from refportal.mail.services import queue_email
from refportal.startup import migration_heads
from tests.references.helpers import full_answers, nominate_three, send_requests, submit_rating
from tests.support import base_config
from tests.web import Browser, csrf_token_from, link_in


def previous_revision() -> str:
    """The revision before the head: a database one migration behind."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from refportal.resources import MIGRATIONS_FOLDER

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))
    script = ScriptDirectory.from_config(config)
    return script.get_revision(script.get_current_head()).down_revision


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(User.id)))


# ------------------------------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize("environment", ["production", "test"])
def test_seed_demo_refuses_to_run_outside_development(production, make_app, environment):
    app = production() if environment == "production" else make_app()
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "runs only with REFPORTAL_ENV=development" in result.output and "Nothing was written" in result.output
    assert user_count(app) == 0


def test_production_refuses_to_serve_a_database_behind_the_migrations(app, production):
    head = sorted(migration_heads())[0]
    with app.app_context():
        stamp(revision=previous_revision())
        behind = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    assert behind != head
    with pytest.raises(ConfigurationError) as refused:
        production()
    assert f"at revision {behind}" in str(refused.value) and head in str(refused.value)
    assert "flask --app refportal db upgrade" in str(refused.value)

    # Inside a `flask` command (db upgrade itself) the app starts, so the schema can be brought up.
    with click.Context(click.Command("upgrade")):
        production()

    with app.app_context():
        stamp(revision="head")
    production()  # at the head: it starts


def test_production_refuses_an_empty_database(app, tmp_path):
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE alembic_version"))  # tables, but no migration recorded
    settings = {**base_config(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"]), "ENV_NAME": "production"}
    with pytest.raises(ConfigurationError, match=r"\(none: an empty database\)"):
        create_app(settings)


def test_production_refuses_to_start_without_the_compiled_spanish_catalogue(production, tmp_path, monkeypatch):
    import refportal.resources

    # A translations folder as a checkout has it before `make install`: the .po, no .mo.
    source = refportal.resources.TRANSLATIONS_FOLDER
    uncompiled = tmp_path / "translations"
    shutil.copytree(source, uncompiled, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(refportal.resources, "TRANSLATIONS_FOLDER", uncompiled)
    with pytest.raises(ConfigurationError, match="No compiled message catalogue for es"):
        production()
    monkeypatch.setattr(refportal.resources, "TRANSLATIONS_FOLDER", source)
    production()


@pytest.mark.parametrize("value", ["-1", "one", "1.5", "11", "1 2"])
def test_a_bad_proxy_count_stops_the_portal(monkeypatch, value):
    monkeypatch.setenv("PROXY_COUNT", value)
    with pytest.raises(ConfigurationError, match="PROXY_COUNT must be the number of trusted reverse proxies"):
        load_config({"ENV_NAME": "test", "SECRET_KEY": "test-secret"})


@pytest.mark.parametrize(("value", "expected"), [("", 0), ("0", 0), ("1", 1), (" 2 ", 2)])
def test_proxy_count_values(monkeypatch, value, expected):
    monkeypatch.setenv("PROXY_COUNT", value)
    assert load_config({"ENV_NAME": "test", "SECRET_KEY": "test-secret"})["PROXY_COUNT"] == expected


def test_per_process_rate_limits_are_announced_in_production(production, capsys):
    production(RATELIMIT_STORAGE_URI="memory://", RATELIMIT_ENABLED=True, PROXY_COUNT=1)
    warnings = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert any(w["level"] == "warning" and "limits are counted per process" in w["message"] for w in warnings)
    production(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0", PROXY_COUNT=1)
    assert "per process" not in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# Behind a proxy


def login_attempt(client, email, forwarded_for):
    headers = {"X-Forwarded-For": forwarded_for}
    page = client.get("/login", headers=headers).get_data(as_text=True)
    return client.post(
        "/login",
        headers=headers,
        data={"csrf_token": csrf_token_from(page), "email": email, "password": "wrong password here"},
    )


def test_behind_one_proxy_limits_key_on_the_client_address_the_proxy_reports(make_app):
    app = make_app(PROXY_COUNT=1, RATELIMIT_ENABLED=True)
    try:
        client = app.test_client()
        # The client's own X-Forwarded-For comes first; the proxy appends the address it saw.
        statuses = [
            login_attempt(client, f"user{n}@example.org", f"198.51.100.9, 203.0.113.{5}").status_code for n in range(31)
        ]
        assert statuses[:30] == [200] * 30 and statuses[30] == 429
        assert login_attempt(client, "other@example.org", "198.51.100.9, 203.0.113.6").status_code == 200
    finally:
        limiter.reset()


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(make_app):
    app = make_app(PROXY_COUNT=0, RATELIMIT_ENABLED=True)
    try:
        client = app.test_client()
        statuses = [login_attempt(client, f"user{n}@example.org", f"203.0.113.{n}").status_code for n in range(31)]
        assert statuses[30] == 429  # every attempt came from the same (proxy's) address
    finally:
        limiter.reset()


def test_https_at_the_proxy_gives_hsts_and_secure_cookies(production):
    app = production(PROXY_COUNT=1)
    client = app.test_client()
    secure = client.get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5"})
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Secure" in secure.headers["Set-Cookie"] and "HttpOnly" in secure.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in client.get("/login", headers={"X-Forwarded-Proto": "http"}).headers

    direct = production(PROXY_COUNT=0).test_client()
    assert "Strict-Transport-Security" not in direct.get("/login", headers={"X-Forwarded-Proto": "https"}).headers


def test_production_compiles_each_template_once_and_keeps_its_code_in_the_instance_folder(production, make_app):
    first = production()
    assert first.jinja_env.auto_reload is False  # never re-read from disk while serving
    assert first.test_client().get("/login").status_code == 200
    kept = list((Path(first.instance_path) / TEMPLATE_CACHE_FOLDER).iterdir())
    assert kept, "no compiled template kept"

    restarted = production()  # a new worker: it loads the kept code instead of compiling

    def no_compiling(*_args, **_kwargs):
        raise AssertionError("a template was compiled again")

    restarted.jinja_env.compile = no_compiling
    assert restarted.test_client().get("/login").status_code == 200
    assert make_app().jinja_env.bytecode_cache is None  # tests and development compile in memory only


# ------------------------------------------------------------------------------------------------
# Health


def statements(app):
    counted = []
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *args, **kwargs: counted.append(1))
    return counted


def test_healthz_answers_without_database_session_or_cookie(make_app):
    app = make_app()
    with app.app_context():
        from tests.factories import make_user

        make_user(email="signed.in@example.org")
    client = app.test_client()
    Browser(client).login("signed.in@example.org")  # even with a signed-in session cookie
    counted = statements(app)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert "Set-Cookie" not in response.headers and response.headers["Cache-Control"] == "no-store"
    assert counted == []


def test_readyz_is_200_on_a_current_schema_without_cookie(production):
    response = production().test_client().get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "ready"
    assert set(response.json["checks"]) == {"database", "schema", "outbox"}
    assert "Set-Cookie" not in response.headers


def test_readyz_is_503_when_the_schema_is_behind(app, production):
    app = production()
    with app.app_context():
        stamp(revision=previous_revision())
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "the code needs" in response.json["checks"]["schema"]


def test_readyz_is_503_when_mail_waits_too_long(production):
    app = production(MAIL_SERVER="127.0.0.1", READY_MAX_OUTBOX_AGE_SECONDS=600)
    with app.test_request_context():
        queue_email("verify_email", "late@example.org", name="Late", link="https://x.test/", valid_hours=1)
        db.session.commit()
    assert app.test_client().get("/readyz").status_code == 200  # due just now
    with app.app_context():
        db.session.execute(sa.update(OutboxEmail).values(next_attempt_at=utcnow() - timedelta(minutes=11)))
        db.session.commit()
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and "waited" in response.json["checks"]["outbox"]


def test_readyz_is_503_for_an_unreachable_database(tmp_path):
    app = create_app({**base_config(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/none"), "ENV_NAME": "test"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["database"].startswith("unreachable")


def test_readyz_gives_up_on_a_database_that_does_not_answer(tmp_path):
    """A server that accepts the connection and says nothing: 503 after the 2 s limit, not after 5 s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def hold():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{listener.getsockname()[1]}/none"
        app = create_app({**base_config(tmp_path, url), "ENV_NAME": "test"})
        started = time.monotonic()
        response = app.test_client().get("/readyz")
        elapsed = time.monotonic() - started
        assert response.status_code == 503 and response.json["checks"]["database"] == "no answer within 2 s"
        assert 1.9 <= elapsed < 4
    finally:
        stop.set()
        thread.join(2)
        for connection in accepted:
            connection.close()
        listener.close()


# ------------------------------------------------------------------------------------------------
# Logs


def log_lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.strip()]


def test_one_json_line_per_request_with_its_id_and_no_secret(production, capsys):
    app = production(PROXY_COUNT=1)
    password = "a very private pass phrase"
    narrative = "Uniquely-identifiable narrative 7f3a about the applicant"
    with app.app_context():
        from tests.factories import declare_current_membership, make_application, make_user, record_eligibility

        user = make_user(email="applicant@example.org", password=password)
        application = make_application(user)
        record_eligibility(application)
        declare_current_membership(application)
        application_id = application.id
    capsys.readouterr()

    applicant = Browser(app.test_client())
    applicant.login("applicant@example.org", password)
    nominate_three(applicant, application_id)
    send_requests(applicant, application_id)
    with app.app_context():
        message = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.to_address == "sam@example.net")).one()
        link = message.body_text
    path = link_in(link, "/r/")
    token = path.removeprefix("/r/")
    referee = app.test_client()
    submitted = submit_rating(referee, path, full_answers(strengths=narrative))
    assert submitted.status_code == 200
    referee.get("/r/" + token + "x")  # a tampered link
    response = referee.get("/healthz", headers={"X-Request-ID": "lb-check-0001"})
    assert response.headers["X-Request-ID"] == "lb-check-0001"

    captured = capsys.readouterr().err
    lines = log_lines(captured)
    requests = [line for line in lines if line["logger"] == "refportal.request"]
    assert len(requests) == 15  # login 2, nominations 6, send 2, rating 3, tampered link 1, healthz 1
    for line in requests:
        assert {"method", "path", "status", "duration_ms", "request_id", "time"} <= set(line)
    assert any(line["path"] == "/r/<token>" and line["method"] == "POST" for line in requests)
    assert any(line["path"] == "/r/<token>/submit" and line["status"] == 200 for line in requests)
    assert {"path": "/healthz", "request_id": "lb-check-0001"}.items() <= requests[-1].items()
    for secret in (token, token[:20], password, narrative, "7f3a", app.config["SECRET_KEY"]):
        assert secret not in captured


def test_a_token_path_that_matches_no_rule_is_logged_without_its_token(production, capsys):
    """A reset, verification or invitation link with an extra segment, another case or a method its
    route does not take is logged only up to the route's fixed start."""
    app = production(PROXY_COUNT=1)
    with app.app_context():
        from refportal.security.tokens import make_token

        token = make_token("password-reset", {"uid": 1, "pw": "x"})
    capsys.readouterr()
    client = app.test_client()
    assert client.get(f"/password/reset/{token}/again").status_code == 404
    assert client.put(f"/verify-email/{token}").status_code == 405
    assert client.get(f"/Welcome/{token}").status_code == 404
    assert client.get(f"/password/reset/{token}").status_code in (200, 400)
    captured = capsys.readouterr().err
    paths = [line["path"] for line in log_lines(captured) if line["logger"] == "refportal.request"]
    assert paths == ["/password/reset/<token>", "/verify-email/<token>", "/Welcome/<token>", "/password/reset/<token>"]
    assert token not in captured and token.rsplit(".", 1)[1][:10] not in captured


def test_errors_are_logged_as_json_with_their_traceback_and_request_id(production, capsys):
    app = production(PROXY_COUNT=1)

    @app.get("/test-only/broken")
    def broken():
        raise RuntimeError("something broke")

    response = app.test_client().get("/test-only/broken")
    assert response.status_code == 500
    lines = log_lines(capsys.readouterr().err)
    error = next(line for line in lines if line["level"] == "error")
    assert "RuntimeError: something broke" in error["traceback"]
    assert error["request_id"] == response.headers["X-Request-ID"]
