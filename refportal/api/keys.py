"""API keys: created with scopes by administrators, shown once, stored as a SHA-256, revocable; every use
is recorded (last use on the key, an audit event per request)."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.api.models import ApiKey, Scope
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utcnow
from refportal.exceptions import Refused
from refportal.extensions import db

KEY_PREFIX = "rp_"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(*, name: str, scopes: list[Scope], actor: User) -> tuple[ApiKey, str]:
    """A new key and its secret value (shown to the administrator once, never stored)."""
    name = " ".join(name.split())
    if not name:
        raise Refused("Name the key after the system that will use it.", field="name")
    if not scopes:
        raise Refused("Choose at least one scope.", field="scopes")
    value = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name[:80], prefix=value[:10], key_hash=key_hash(value), scopes=[s.value for s in scopes])
    key.created_by_id = actor.id
    db.session.add(key)
    db.session.flush()
    record(AuditAction.API_KEY_CREATED, obj=key, actor=actor, name=key.name, scopes=key.scopes)
    return key, value


def revoke_key(*, key: ApiKey, actor: User) -> None:
    if key.revoked_at is not None:
        raise Refused(f"The key {key.name} is revoked already.")
    key.revoked_at = utcnow()
    record(AuditAction.API_KEY_REVOKED, obj=key, actor=actor, name=key.name)


def all_keys() -> list[ApiKey]:
    return list(db.session.scalars(sa.select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())))


def key_for(value: str) -> ApiKey | None:
    """The key with this secret value, revoked or not (None: no such key)."""
    if not value.startswith(KEY_PREFIX) or len(value) > 200:
        return None
    return db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == key_hash(value)))


def note_use(key: ApiKey, method: str, path: str, status: int) -> None:
    """The key's last use, and an audit event for this request (in the request's transaction)."""
    key.last_used_at = utcnow()
    record(AuditAction.API_KEY_USED, obj=key, method=method, path=path[:200], status=status)
