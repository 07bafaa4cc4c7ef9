"""Password reset by a signed link that dies once the password changes."""

from __future__ import annotations

from refportal.accounts.models import User
from refportal.extensions import db
from refportal.security.passwords import verify_password
from refportal.security.tokens import fingerprint, make_token
from tests.factories import make_user
from tests.web import link_in

NEW = "a brand new pass phrase"


def ask_for_reset(browser, email):
    return browser.submit("/password/forgot", {"email": email})


def test_unknown_and_known_addresses_get_the_same_answer(app, browser, outbox):
    with app.app_context():
        make_user(email="known@example.org")
    unknown = ask_for_reset(browser, "unknown@example.org").get_data(as_text=True)
    known = ask_for_reset(browser, "known@example.org").get_data(as_text=True)
    assert "If an account exists for" in unknown and "If an account exists for" in known
    assert unknown.replace("unknown@", "X@") == known.replace("known@", "X@")
    assert [e.to_address for e in outbox()] == ["known@example.org"]


def test_the_link_sets_a_new_password_once(app, browser, outbox):
    with app.app_context():
        user = make_user(email="known@example.org")
    ask_for_reset(browser, "known@example.org")
    link = link_in(outbox()[0].body_text, "/password/reset/")
    response = browser.submit(link, {"password": NEW, "confirm": NEW})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    with app.app_context():
        assert verify_password(db.session.get(User, user.id).password_hash, NEW)[0]
    # The same link again: the password changed, so it no longer works.
    again = browser.get(link)
    assert again.status_code == 400 and "This link does not work" in again.get_data(as_text=True)
    browser.login("known@example.org", NEW)


def test_a_weak_new_password_is_refused_and_the_old_one_kept(app, browser, outbox):
    with app.app_context():
        user = make_user(email="known@example.org")
        old_hash = user.password_hash
    ask_for_reset(browser, "known@example.org")
    link = link_in(outbox()[0].body_text, "/password/reset/")
    response = browser.submit(link, {"password": "short", "confirm": "short"})
    assert response.status_code == 200 and "at least 12 characters" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).password_hash == old_hash


def test_expired_reset_link(make_app):
    app = make_app(PASSWORD_RESET_MAX_AGE=-1)
    with app.app_context():
        user = make_user()
        token = make_token("password-reset", {"uid": user.id, "pw": fingerprint(user.password_hash)})
    response = app.test_client().get(f"/password/reset/{token}")
    assert response.status_code == 410
    assert "Ask for a new password reset link" in response.get_data(as_text=True)


def test_a_verification_token_is_not_a_reset_token(app, browser):
    with app.app_context():
        user = make_user()
        token = make_token("email-verify", {"uid": user.id, "pw": fingerprint(user.password_hash)})
    assert browser.get(f"/password/reset/{token}").status_code == 400


def test_malformed_address_is_refused_with_a_message(browser, outbox):
    response = ask_for_reset(browser, "not-an-address")
    assert "Enter a valid e-mail address" in response.get_data(as_text=True)
    assert outbox() == []
