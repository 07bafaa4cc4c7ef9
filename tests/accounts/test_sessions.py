"""Sessions: cleared on login, ended everywhere by logout or a new password, idle and absolute limits."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from refportal.extensions import db
from tests.factories import make_user
from tests.web import Browser, link_in


@pytest.fixture
def account(app):
    with app.app_context():
        make_user(email="a@example.org")
    return "a@example.org"


def logged_in(app, email):
    browser = Browser(app.test_client())
    browser.login(email)
    return browser


def test_login_starts_a_fresh_session(app, account):
    browser = Browser(app.test_client())
    with browser.client.session_transaction() as session:
        session["planted"] = "by an attacker"
    browser.login(account)
    with browser.client.session_transaction() as session:
        assert "planted" not in session and "login_at" in session


def test_logging_out_ends_the_other_sessions_too(app, account):
    laptop, phone = logged_in(app, account), logged_in(app, account)
    assert phone.get("/dashboard").status_code == 200
    laptop.logout()
    assert phone.get("/dashboard").status_code == 302


def test_a_new_password_ends_every_session(app, account, outbox):
    phone = logged_in(app, account)
    other = Browser(app.test_client())
    other.submit("/password/forgot", {"email": account})
    other.submit(
        link_in(outbox(to=account)[-1].body_text, "/password/reset/"),
        {"password": "a new pass phrase", "confirm": "a new pass phrase"},
    )
    assert phone.get("/dashboard").status_code == 302


def test_a_logout_in_one_worker_ends_the_session_in_another_at_once(make_app, account):
    """Two workers (two apps on one database): nothing about the signed-in user is kept between requests."""
    worker_a, worker_b = make_app(), make_app()
    laptop = logged_in(worker_a, account)
    phone = Browser(worker_b.test_client())
    phone.client.set_cookie("session", laptop.client.get_cookie("session").value)
    assert phone.get("/dashboard").status_code == 200
    laptop.logout()
    assert phone.get("/dashboard").status_code == 302


@pytest.mark.parametrize("version", ["01", "1x", "", "2", "1.1", "9" * 30])
def test_a_session_naming_any_other_version_signs_no_one_in(app, account, version):
    browser = logged_in(app, account)
    with browser.client.session_transaction() as session:
        user_id = session["_user_id"].partition(".")[0]
        session["_user_id"] = f"{user_id}.{version}"
    assert browser.get("/dashboard").status_code == 302


def test_the_signed_in_user_is_one_statement(app, account):
    browser = logged_in(app, account)
    browser.get("/dashboard")
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        assert browser.get("/account").status_code == 200  # a page that reads nothing else
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert len(seen) == 1, seen
    where = seen[0].split("WHERE")[1]
    assert "session_version" in where and "deactivated_at IS NULL" in where


def test_an_idle_session_ends(app, account):
    browser = logged_in(app, account)
    with browser.client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - 31 * 60
    response = browser.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_idle_clock_moves_once_a_minute_so_most_pages_send_no_cookie(app, account):
    browser = logged_in(app, account)
    browser.get("/dashboard")  # the session now holds everything a page puts in it
    assert "Set-Cookie" not in browser.get("/dashboard").headers
    with browser.client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - 61
    response = browser.get("/dashboard")
    assert "Set-Cookie" in response.headers
    with browser.client.session_transaction() as session:
        assert int(time.time()) - session["seen_at"] < 5


def test_activity_keeps_a_session_alive_until_the_absolute_limit(app, account):
    browser = logged_in(app, account)
    with browser.client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - 20 * 60
        session["login_at"] = int(time.time()) - 11 * 3600
    assert browser.get("/dashboard").status_code == 200
    with browser.client.session_transaction() as session:
        session["login_at"] = int(time.time()) - 13 * 3600
    assert browser.get("/dashboard").status_code == 302


def test_session_cookie_flags_in_production(make_app):
    app = make_app(SESSION_COOKIE_SECURE=True)  # what production sets (REFPORTAL_ENV=production)
    response = app.test_client().get("/login", base_url="https://portal.example.test")
    cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
