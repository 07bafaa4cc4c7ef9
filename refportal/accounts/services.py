"""Account rules: registration, verification, login, password reset, staff accounts."""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import Role, User
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import database_id, utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.i18n import LANGUAGES
from refportal.mail.addresses import normalize_email
from refportal.mail.services import external_url, queue_email, sent_recently
from refportal.security.passwords import hash_password, password_problem, verify_password
from refportal.security.tokens import TokenInvalid, fingerprint, load_token, make_token

# The signed-in account: one statement, built once (its compiled form cached by SQLAlchemy), with the
# session's version and the account's state checked by the database.
_SIGNED_IN = sa.select(User).where(
    User.id == sa.bindparam("user_id"),
    User.session_version == sa.bindparam("version"),
    User.deactivated_at.is_(None),
)


def signed_in_user(session_id: str) -> User | None:
    """The account a session's "<id>.<session version>" names, or None when it is deactivated or the
    version moved on (a logout or a new password ends every session at once, in every worker)."""
    user_id, _, version = session_id.partition(".")
    user_key, version_number = database_id(user_id), database_id(version)
    if user_key is None or version_number is None or str(version_number) != version:
        return None
    return db.session.execute(_SIGNED_IN, {"user_id": user_key, "version": version_number}).scalar_one_or_none()


def find_user_by_email(email: str) -> User | None:
    try:
        email = normalize_email(email)
    except ValueError:
        return None
    return db.session.scalar(sa.select(User).where(User.email == email))


def _account_email(template: str, to: str, **context: Any) -> bool:
    """Queue an account e-mail unless this address had its hourly share (so nobody is flooded)."""
    if sent_recently(template, to) >= current_app.config["EMAILS_PER_ADDRESS_PER_HOUR"]:
        return False
    queue_email(template, to, **context)
    return True


def check_language(language: str | None) -> str:
    """A language the portal writes its e-mails in, else a refusal (nothing is changed)."""
    if language not in LANGUAGES:
        offered = ", ".join(f"{name} ({code})" for code, name in LANGUAGES.items())
        raise Refused(f"Choose one of the languages offered: {offered}.", field="language")
    return language


def set_language(*, user: User, language: str | None) -> bool:
    """The language of the e-mails about the account's endorsement; True when it changed."""
    language = check_language(language)
    if user.language == language:
        return False
    before, user.language = user.language, language
    record(AuditAction.ACCOUNT_LANGUAGE_CHANGED, obj=user, actor=user, before=before, after=language)
    return True


def register_user(*, name: str, email: str, password: str, language: str = "en") -> User | None:
    """Create an applicant account (unverified) and queue the verification e-mail.

    An address that already has an account gets an e-mail saying so instead; the page answers the
    same either way, so registration does not tell who has an account."""
    email = normalize_email(email)
    # The same rules as the form, checked before anything else so the answer does not depend on
    # whether the address has an account.
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise Refused(problem, field="password")
    language = check_language(language)
    existing = find_user_by_email(email)
    if existing is not None:
        _account_email(
            "account_exists",
            existing.email,
            name=existing.name,
            login=external_url("accounts.login"),
            reset=external_url("accounts.forgot_password"),
        )
        return None
    user = User(name=name, email=email, password_hash=hash_password(password), role=Role.APPLICANT, language=language)
    db.session.add(user)
    db.session.flush()
    record(AuditAction.ACCOUNT_REGISTERED, obj=user, actor=user)
    send_verification_email(user=user)
    return user


def send_verification_email(*, user: User) -> None:
    """Queue a fresh e-mail verification link for `user`."""
    token = make_token("email-verify", {"uid": user.id, "email": user.email})
    hours = current_app.config["EMAIL_VERIFY_MAX_AGE"] // 3600
    _account_email(
        "verify_email",
        user.email,
        name=user.name,
        link=external_url("accounts.verify_email", token=token),
        valid_hours=hours,
    )


def check_verification_token(*, token: str) -> User:
    """The account a genuine, unexpired verification link is for (TokenInvalid / TokenExpired)."""
    payload = load_token("email-verify", token, current_app.config["EMAIL_VERIFY_MAX_AGE"])
    user = db.session.get(User, payload.get("uid"))
    if user is None or user.email != payload.get("email"):
        raise TokenInvalid("the account or its address changed")
    return user


def verify_email(*, token: str) -> User:
    """Mark the address in a genuine, unexpired link as verified; the link stays harmless after use."""
    user = check_verification_token(token=token)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        record(AuditAction.ACCOUNT_EMAIL_VERIFIED, obj=user, actor=user)
    return user


def authenticate(*, email: str, password: str) -> User | None:
    """The user whose e-mail and password match, rehashing the password if its parameters are old."""
    user = find_user_by_email(email)
    if user is None:
        # Spend the same effort as a real check, so timing does not tell who has an account.
        verify_password(_dummy_hash(), password)
        return None
    matches, needs_rehash = verify_password(user.password_hash, password)
    if not matches:
        return None
    if needs_rehash:
        user.password_hash = hash_password(password)
    return user


_DUMMY_HASH: dict[str, str] = {}


def _dummy_hash() -> str:
    key = repr(sorted((current_app.config.get("ARGON2_PARAMETERS") or {}).items()))
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = hash_password("not-a-real-password")
    return _DUMMY_HASH[key]


def end_sessions(*, user: User) -> None:
    """Log the account out everywhere (its sessions carry the old version)."""
    user.session_version += 1


def request_password_reset(*, email: str) -> None:
    """Queue a reset link if the address has an account; say nothing either way."""
    user = find_user_by_email(email)
    if user is None:
        return
    token = make_token("password-reset", {"uid": user.id, "pw": fingerprint(user.password_hash)})
    _account_email(
        "password_reset",
        user.email,
        name=user.name,
        link=external_url("accounts.reset_password", token=token),
        valid_minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60,
    )
    record(AuditAction.ACCOUNT_PASSWORD_RESET_REQUESTED, obj=user)


# The two links that let a person choose a password, and how long each lasts.
PASSWORD_LINKS = {"password-reset": "PASSWORD_RESET_MAX_AGE", "account-invite": "STAFF_INVITE_MAX_AGE"}


def user_for_reset_token(token: str, purpose: str = "password-reset") -> User:
    """The account a reset or invitation link is for; the link dies as soon as the password changes."""
    payload = load_token(purpose, token, current_app.config[PASSWORD_LINKS[purpose]])
    user = db.session.get(User, payload.get("uid"))
    if user is None or fingerprint(user.password_hash) != payload.get("pw"):
        raise TokenInvalid("the password has changed since this link was sent")
    return user


def reset_password(*, token: str, password: str, purpose: str = "password-reset") -> User:
    """Set a new password through a reset or invitation link; following it also proves the address."""
    user = user_for_reset_token(token, purpose)
    problem = password_problem(password, email=user.email, name=user.name)
    if problem:
        raise Refused(problem, field="password")
    user.password_hash = hash_password(password)
    user.session_version += 1  # every session of the account ends
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    record(AuditAction.ACCOUNT_PASSWORD_RESET, obj=user, actor=user)
    return user


def create_user(*, email: str, name: str, role: Role, password: str) -> User:
    """An account made by an administrator: verified from the start."""
    email = normalize_email(email)
    if find_user_by_email(email) is not None:
        raise Refused(f"An account for {email} already exists.", field="email")
    problem = password_problem(password, email=email, name=name)
    if problem:
        raise Refused(problem, field="password")
    user = User(email=email, name=name, role=role, password_hash=hash_password(password), email_verified_at=utcnow())
    db.session.add(user)
    db.session.flush()
    record(AuditAction.ACCOUNT_CREATED, obj=user, role=role.value)
    return user


def invite_staff(*, email: str, name: str, role: Role, actor: User, organisation: str | None = None) -> User:
    """Create a reviewer or admin account and e-mail them a link to choose their password."""
    if role is Role.APPLICANT:
        raise Refused("Invite reviewers and administrators here; applicants register themselves.", field="role")
    email = normalize_email(email)
    if find_user_by_email(email) is not None:
        raise Refused(f"An account for {email} already exists: change its role instead.", field="email")
    # A random password nobody knows: the account is usable once the invitee chooses their own.
    user = User(
        email=email,
        name=name,
        role=role,
        organisation=" ".join(organisation.split())[:160] or None if organisation else None,
        password_hash=hash_password(secrets.token_urlsafe(32)),
    )
    db.session.add(user)
    db.session.flush()
    token = make_token("account-invite", {"uid": user.id, "pw": fingerprint(user.password_hash)})
    queue_email(
        "staff_invite",
        user.email,
        name=user.name,
        inviter=actor.name,
        role=role.value,
        link=external_url("accounts.accept_invitation", token=token),
        valid_days=current_app.config["STAFF_INVITE_MAX_AGE"] // 86400,
    )
    record(AuditAction.ACCOUNT_INVITED, obj=user, actor=actor, role=role.value)
    return user


def change_role(*, user: User, role: Role, actor: User) -> None:
    """Give an account another role (never one's own, so an administrator cannot lock everyone out)."""
    if user.id == actor.id:
        raise Refused("You cannot change your own role; ask another administrator.")
    if user.role is role:
        return
    record(AuditAction.ACCOUNT_ROLE_CHANGED, obj=user, actor=actor, before=user.role.value, after=role.value)
    user.role = role


def set_active(*, user: User, active: bool, actor: User) -> None:
    """Deactivate an account (it can no longer log in; its sessions end) or reactivate it."""
    if user.id == actor.id:
        raise Refused("You cannot deactivate your own account.")
    user.deactivated_at = None if active else (user.deactivated_at or utcnow())
    record(AuditAction.ACCOUNT_REACTIVATED if active else AuditAction.ACCOUNT_DEACTIVATED, obj=user, actor=actor)
