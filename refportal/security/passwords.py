"""Password hashing with argon2id."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


def _hasher() -> PasswordHasher:
    # argon2-cffi's defaults are argon2id (RFC 9106 low-memory profile); a deployment may raise them.
    params = current_app.config.get("ARGON2_PARAMETERS") or {}
    return PasswordHasher(**params)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash): a match under old parameters asks to be hashed again."""
    hasher = _hasher()
    try:
        hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    return True, hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of public breaches (the list the zxcvbn package ships)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why a new password is refused, in words a person understands, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters; a few words in a row make a good password."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    if email and lowered in {email.lower(), email.split("@")[0].lower()}:
        return "Your password must not be your e-mail address."
    if name and lowered.replace(" ", "") == name.lower().replace(" ", ""):
        return "Your password must not be your name."
    if lowered in common_passwords() or lowered.replace(" ", "") in common_passwords():
        return "This password is one of the most common ones and easy to guess; choose another."
    if len(set(password)) < 4:
        return "This password repeats too few characters; choose something harder to guess."
    return None
