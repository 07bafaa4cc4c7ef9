"""Error pages in the site's layout, security headers, the mail viewer only in development."""

from __future__ import annotations

import pytest

from refportal import create_app
from tests.support import base_config


def in_layout(response) -> bool:
    return 'class="site-header"' in response.get_data(as_text=True)


def test_start_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Infant Family Specialist" in response.get_data(as_text=True)


def test_404_in_layout(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404 and in_layout(response)
    assert "Page not found" in response.get_data(as_text=True)


def test_405_in_layout(client):
    response = client.get("/logout")
    assert response.status_code == 405 and in_layout(response)


def test_post_without_csrf_token_is_a_400_page_and_saves_nothing(client, outbox):
    response = client.post(
        "/register", data={"name": "X", "email": "x@example.org", "password": "a" * 20, "confirm": "a" * 20}
    )
    assert response.status_code == 400 and in_layout(response)
    assert "reload the page" in response.get_data(as_text=True)
    assert outbox() == []


def test_413_in_layout(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1000)
    response = app.test_client().post("/login", data={"email": "x" * 5000})
    assert response.status_code == 413 and in_layout(response)


def test_500_in_layout_and_no_traceback(make_app):
    app = make_app(TESTING=False)  # as served: the page, not the exception

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    response = app.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and in_layout(response)
    assert "secret detail" not in body and "Traceback" not in body


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_session_cookie_is_httponly_and_lax(browser):
    response = browser.get("/login")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_mail_viewer_does_not_exist_in_production(production):
    app = production()
    assert app.config["MAIL_VIEWER"] is False
    assert app.test_client().get("/dev/mail/").status_code == 404


def test_mail_viewer_exists_in_development(tmp_path, postgres_schema):
    config = base_config(tmp_path, f"sqlite:///{tmp_path / 'dev.db'}")
    config.update(ENV_NAME="development")
    del config["MAIL_VIEWER"]
    app = create_app(config)
    assert "mail_viewer.inbox" in app.view_functions


def test_an_unexpected_error_reaches_a_failing_test_with_its_traceback(make_app):
    """Under test, the 500 page does not hide the error (production shows the page: test_production)."""
    app = make_app()

    @app.get("/test-only/broken")
    def broken():
        raise RuntimeError("the real cause")

    with pytest.raises(RuntimeError, match="the real cause"):
        app.test_client().get("/test-only/broken")
