"""Signed tokens (purpose, expiry, key rotation), common passwords, and the HTTPS-only header."""

from __future__ import annotations

import pytest

from refportal.security.passwords import password_problem
from refportal.security.tokens import TokenExpired, TokenInvalid, load_token, make_token


def test_a_token_made_with_the_old_key_verifies_after_rotation(make_app):
    old = make_app(SECRET_KEY="the-old-key-that-signed-links-last-month")
    with old.app_context():
        token = make_token("password-reset", {"uid": 1})
    rotated = make_app(
        SECRET_KEY="the-new-key-used-from-today-onwards",
        SECRET_KEY_FALLBACKS=["the-old-key-that-signed-links-last-month"],
    )
    with rotated.app_context():
        assert load_token("password-reset", token, 3600)["uid"] == 1
        assert make_token("password-reset", {"uid": 1}) != token  # new tokens use the new key
    removed = make_app(SECRET_KEY="the-new-key-used-from-today-onwards")
    with removed.app_context(), pytest.raises(TokenInvalid):
        load_token("password-reset", token, 3600)


@pytest.mark.parametrize(
    "maker, loader",
    [
        ("email-verify", "password-reset"),
        ("password-reset", "account-invite"),
        ("account-invite", "reference-rating"),
        ("reference-rating", "email-verify"),
    ],
)
def test_a_token_never_works_for_another_purpose(app_ctx, maker, loader):
    token = make_token(maker, {"uid": 1})
    with pytest.raises(TokenInvalid):
        load_token(loader, token, 3600)
    assert load_token(maker, token, 3600)["act"] == maker


def test_expired_and_malformed_tokens(app_ctx):
    token = make_token("password-reset", {"uid": 1})
    with pytest.raises(TokenExpired):
        load_token("password-reset", token, -1)
    for bad in ("", "x", token + "x", token.replace(".", "", 1), "a.b.c"):
        with pytest.raises(TokenInvalid):
            load_token("password-reset", bad, 3600)


def test_tokens_use_sha256(app_ctx):
    from refportal.security.tokens import _serializer

    assert _serializer("email-verify").signer_kwargs["digest_method"].__name__ == "openssl_sha256"


@pytest.mark.parametrize("password", ["password1234", "123456789abc", "sonnenschein", "Sonnenschein", "1234567890qw"])
def test_common_passwords_are_refused(password):
    problem = password_problem(password)
    assert problem and ("most common" in problem or "at least" in problem)


def test_long_unusual_passphrases_are_accepted_without_composition_rules():
    assert password_problem("correct horse battery staple") is None
    assert password_problem("a" * 200 + "bcd") is None
    assert password_problem("z" * 257) is not None  # more than 256 characters


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://portal.example.test")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
