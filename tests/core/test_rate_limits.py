"""Brute force: login limited per account and per IP; account e-mails capped per address."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from refportal.extensions import db, limiter
from refportal.mail.models import OutboxEmail
from tests.factories import make_user
from tests.web import Browser


@pytest.fixture
def limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True)
    yield app
    limiter.reset()


def attempt(browser, email):
    return browser.submit("/login", {"email": email, "password": "wrong password here"})


def test_login_is_limited_per_account(limited):
    browser = Browser(limited.test_client())
    statuses = [attempt(browser, "victim@example.org").status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    page = attempt(browser, "victim@example.org")
    assert "Too many attempts" in page.get_data(as_text=True) and 'class="site-header"' in page.get_data(as_text=True)
    assert attempt(browser, "someone.else@example.org").status_code == 200  # other accounts are not locked


def test_login_is_limited_per_ip_across_accounts(limited):
    browser = Browser(limited.test_client())
    statuses = [attempt(browser, f"user{n}@example.org").status_code for n in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429


def test_password_reset_requests_are_limited_per_address(limited):
    # (No `outbox` fixture here: it would build a second app, and the limiter follows the newest app.)
    with limited.app_context():
        make_user(email="known@example.org")
    browser = Browser(limited.test_client())
    statuses = [browser.submit("/password/forgot", {"email": "known@example.org"}).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    with limited.app_context():
        sent = db.session.scalar(
            sa.select(sa.func.count(OutboxEmail.id)).where(OutboxEmail.to_address == "known@example.org")
        )
    assert sent == 3  # and at most 3 e-mails an hour reach the address


def test_verification_emails_are_capped_per_address(app, browser, outbox):
    with app.app_context():
        make_user(email="new@example.org", verified=False)
    for _ in range(6):
        browser.submit("/login", {"email": "new@example.org", "password": "correct horse battery staple"})
    assert len(outbox(to="new@example.org")) == 3
