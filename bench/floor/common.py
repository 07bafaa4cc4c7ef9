"""What every floor page shares: the database, the signed-in user from the signed cookie session, and
Flask-WTF's CSRF token made and checked with itsdangerous directly (the same token refportal issues)."""

from __future__ import annotations

import hashlib
import hmac
import os

import sqlalchemy as sa
from flask import current_app, g, session
from itsdangerous import BadData, URLSafeTimedSerializer

CSRF_SALT = "wtf-csrf-token"  # Flask-WTF's
CSRF_MAX_AGE = 3600 * 8  # refportal's WTF_CSRF_TIME_LIMIT


def connect() -> sa.Connection:
    return current_app.extensions["floor.engine"].connect()


def signed_in_user(conn: sa.Connection) -> sa.Row | None:
    """Flask-Login's session entry is refportal's "<user id>.<session version>": one row, or None."""
    user_id, _, version = str(session.get("_user_id", "")).partition(".")
    if not user_id.isdigit() or not version.isdigit():
        return None
    return conn.execute(
        sa.text(
            "SELECT id, name, role FROM user_account "
            "WHERE id = :id AND session_version = :version AND deactivated_at IS NULL"
        ),
        {"id": int(user_id), "version": int(version)},
    ).first()


def _csrf_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=CSRF_SALT)


def csrf_token() -> str:
    """This request's CSRF token for the session's raw token (made once per request, like Flask-WTF)."""
    if "floor_csrf" not in g:
        if "csrf_token" not in session:
            session["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 - Flask-WTF's
        g.floor_csrf = _csrf_serializer().dumps(session["csrf_token"])
    return g.floor_csrf


def csrf_valid(token: str | None) -> bool:
    if not token or "csrf_token" not in session:
        return False
    try:
        raw = _csrf_serializer().loads(token, max_age=CSRF_MAX_AGE)
    except BadData:
        return False
    return hmac.compare_digest(raw, session["csrf_token"])
