"""record(): one call per state change, inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from blinker import Namespace
from flask import current_app

from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.extensions import db

# Sent with each AuditEvent as it is added, inside the change's transaction: what must change with it
# (an application's changed_at, the webhook deliveries it causes) subscribes here.
recorded = Namespace().signal("audit-recorded")


def record(action: AuditAction, *, obj: Any, actor: Any = None, **details: Any) -> AuditEvent:
    """Add an audit event for `obj` (any model with an id) done by `actor` (a user or None)."""
    db.session.flush()  # so a new object has its id
    event = AuditEvent(
        action=action,
        object_type=obj.__tablename__,
        object_id=obj.id,
        actor_id=getattr(actor, "id", None),
        details={k: v for k, v in details.items() if v is not None},
    )
    db.session.add(event)
    recorded.send(current_app._get_current_object(), event=event)  # type: ignore[attr-defined]  # the app
    return event
