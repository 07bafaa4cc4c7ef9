"""Registration, e-mail verification and login."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from refportal.accounts.models import Role, User
from refportal.extensions import db
from refportal.security.tokens import make_token
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.web import link_in

GOOD = {"name": "Maya Lin", "email": "Maya.Lin@Example.org", "password": DEFAULT_PASSWORD, "confirm": DEFAULT_PASSWORD}


def users(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(User.id)))


def register(browser, **changes):
    return browser.submit("/register", {**GOOD, **changes})


def test_registration_creates_an_unverified_applicant_and_sends_the_link(app, browser, outbox):
    response = register(browser)
    assert response.status_code == 200
    assert "We have sent a verification link" in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(sa.select(User))
        assert (user.email, user.role, user.is_verified) == ("maya.lin@example.org", Role.APPLICANT, False)
        assert user.password_hash.startswith("$argon2id$")
    [email] = outbox()
    assert email.to_address == "maya.lin@example.org"
    assert "Confirm your e-mail address" in email.subject
    assert "/verify-email/" in email.body_text and "/verify-email/" in email.body_html


def test_links_in_mail_use_the_configured_base_url_not_the_host_header(browser, outbox):
    page = browser.get("/register", headers={"Host": "evil.example.com"})
    from tests.web import csrf_token_from

    browser.client.post(
        "/register",
        data={**GOOD, "csrf_token": csrf_token_from(page.get_data(as_text=True))},
        headers={"Host": "evil.example.com"},
    )
    [email] = outbox()
    assert "evil.example.com" not in email.body_text + email.body_html
    assert "https://portal.example.test/verify-email/" in email.body_text


def test_following_the_link_verifies_and_then_login_works(app, browser, outbox):
    register(browser)
    link = link_in(outbox()[0].body_text, "/verify-email/")
    page = browser.get(link)
    assert page.status_code == 200 and "Confirm my e-mail address" in page.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalar(sa.select(User)).is_verified  # a GET (a mail scanner) changes nothing
    response = browser.submit(link, {})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    with app.app_context():
        assert db.session.scalar(sa.select(User)).is_verified
    browser.login("maya.lin@example.org")
    assert "Your applications" in browser.get("/dashboard").get_data(as_text=True)


def test_login_before_verification_is_refused_and_sends_a_new_link(app, browser, outbox):
    register(browser)
    response = browser.submit("/login", {"email": GOOD["email"], "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert "not verified yet" in response.get_data(as_text=True)
    assert len(outbox()) == 2
    assert browser.get("/dashboard").status_code == 302  # still logged out


def test_a_known_address_gets_the_same_answer_and_its_owner_an_email(app, browser, outbox):
    with app.app_context():
        make_user(email="maya.lin@example.org", name="Maya Lin")
    known = register(browser, email="MAYA.LIN@example.org").get_data(as_text=True)
    new = register(browser, email="new.person@example.org").get_data(as_text=True)
    assert known.replace("maya.lin@", "X@") == new.replace("new.person@", "X@")
    assert users(app) == 2  # only the new person
    [notice] = outbox(to="maya.lin@example.org")
    assert notice.subject == "You already have a refportal account" and "/password/forgot" in notice.body_text


def assert_refused(app, browser, outbox, message, **changes):
    response = register(browser, **changes)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    assert message in body, body
    assert 'aria-invalid="true"' in body
    assert users(app) == 0 and outbox() == []
    return body


def test_malformed_email_is_refused(app, browser, outbox):
    assert_refused(app, browser, outbox, "Enter a valid e-mail address", email="maya@@example")


def test_email_with_a_line_break_is_refused(app, browser, outbox):
    assert_refused(app, browser, outbox, "cannot contain a line break", email="maya@example.org\r\nBcc: x@example.org")


def test_short_password_is_refused(app, browser, outbox):
    assert_refused(app, browser, outbox, "at least 12 characters", password="short-pw", confirm="short-pw")


def test_password_equal_to_the_email_is_refused(app, browser, outbox):
    assert_refused(
        app, browser, outbox, "must not be your e-mail", password="maya.lin@example.org", confirm="maya.lin@example.org"
    )


def test_repetitive_password_is_refused(app, browser, outbox):
    assert_refused(app, browser, outbox, "too few characters", password="aaaaaaaaaaaaaa", confirm="aaaaaaaaaaaaaa")


def test_mismatched_confirmation_is_refused(app, browser, outbox):
    assert_refused(app, browser, outbox, "The two passwords differ", confirm="something else entirely")


def test_over_long_name_is_refused(app, browser, outbox):
    assert_refused(app, browser, outbox, "cannot be longer than 120 characters", name="N" * 121)


def test_name_with_a_line_break_is_refused(app, browser, outbox):
    assert_refused(app, browser, outbox, "without line breaks", name="Maya\nLin")


def test_what_was_typed_is_kept_on_a_refused_form(app, browser, outbox):
    body = assert_refused(app, browser, outbox, "The two passwords differ", confirm="something else entirely")
    assert 'value="Maya Lin"' in body and 'value="maya.lin@example.org"' in body


def test_wrong_password_is_refused_with_a_message(app, browser):
    with app.app_context():
        make_user(email="a@example.org")
    response = browser.submit("/login", {"email": "a@example.org", "password": "not the password at all"})
    assert "do not match an account" in response.get_data(as_text=True)
    assert browser.get("/dashboard").status_code == 302


def test_unknown_account_gets_the_same_message(browser):
    response = browser.submit("/login", {"email": "nobody@example.org", "password": "whatever whatever"})
    assert "do not match an account" in response.get_data(as_text=True)


def test_logout_ends_the_session(app, browser):
    with app.app_context():
        make_user(email="a@example.org")
    browser.login("a@example.org")
    assert browser.get("/dashboard").status_code == 200
    assert browser.logout().status_code == 302
    assert browser.get("/dashboard").status_code == 302


def test_login_does_not_redirect_off_site(app, browser):
    with app.app_context():
        make_user(email="a@example.org")
    response = browser.submit(
        "/login?next=//evil.example.com/x", {"email": "a@example.org", "password": DEFAULT_PASSWORD}
    )
    assert response.headers["Location"] == "/dashboard"


def test_login_returns_to_a_local_next_page(app, browser):
    with app.app_context():
        make_user(email="a@example.org")
    response = browser.submit("/login?next=/applications/new", {"email": "a@example.org", "password": DEFAULT_PASSWORD})
    assert response.headers["Location"] == "/applications/new"


def test_tampered_verification_link_is_a_400_page(app, browser, outbox):
    register(browser)
    link = link_in(outbox()[0].body_text, "/verify-email/")
    response = browser.get(link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb"))
    assert response.status_code == 400
    assert "This link does not work" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_expired_verification_link_offers_a_new_one(make_app, outbox):
    app = make_app(EMAIL_VERIFY_MAX_AGE=-1)
    with app.app_context():
        user = make_user(verified=False)
        token = make_token("email-verify", {"uid": user.id, "email": user.email})
    response = app.test_client().get(f"/verify-email/{token}")
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    with app.app_context():
        assert not db.session.get(User, user.id).is_verified


def test_a_token_for_another_purpose_does_not_verify(app, browser):
    with app.app_context():
        user = make_user(verified=False)
        token = make_token("password-reset", {"uid": user.id, "email": user.email})
    assert browser.get(f"/verify-email/{token}").status_code == 400
    with app.app_context():
        assert not db.session.get(User, user.id).is_verified


def test_a_token_signed_with_another_key_does_not_verify(app, browser):
    with app.app_context():
        user = make_user(verified=False)
    forged = URLSafeTimedSerializer("another-key", salt="email-verify").dumps(
        {"uid": user.id, "email": user.email, "act": "email-verify"}
    )
    assert browser.get(f"/verify-email/{forged}").status_code == 400


def test_password_is_rehashed_when_parameters_change(make_app):
    app = make_app()
    with app.app_context():
        user = make_user(email="a@example.org")
        old_hash = user.password_hash
    app.config["ARGON2_PARAMETERS"] = {"time_cost": 2, "memory_cost": 2048, "parallelism": 1}
    from tests.web import Browser

    Browser(app.test_client()).login("a@example.org")
    with app.app_context():
        new_hash = db.session.get(User, user.id).password_hash
    assert new_hash != old_hash and "t=2" in new_hash


def test_the_registration_service_applies_the_password_rules_itself(app):
    from refportal.accounts.services import register_user
    from refportal.exceptions import Refused

    with app.test_request_context():
        for weak in ("short", "password1234", "aaaaaaaaaaaaaaaa"):
            with pytest.raises(Refused) as refused:
                register_user(name="Pat", email="pat@example.org", password=weak)
            assert refused.value.field == "password"
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0
