"""An application's `changed_at`: moved to now by every audited change of the application, one of its
references, or its membership, in the change's own transaction, so a system polling
/api/v1/applications?changed_since= sees every status change exactly in order."""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa

from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.db import utcnow
from refportal.extensions import db
from refportal.references.models import Reference


def application_of(event: AuditEvent) -> int | None:
    """The application an audited change concerns, if any."""
    if event.object_type == Application.__tablename__:
        return event.object_id
    if event.object_type == Reference.__tablename__ and event.object_id is not None:
        reference = db.session.get(Reference, event.object_id)
        return reference.application_id if reference is not None else None
    return None


# The audited actions that change what the API reports (reading a file, reviews and assignments do not).
A = AuditAction
REPORTED = frozenset(
    {
        *(A.APPLICATION_OPENED, A.APPLICATION_ELIGIBILITY_RECORDED, A.APPLICATION_SUBMITTED),
        *(A.APPLICATION_EVIDENCE_ADDED, A.APPLICATION_EVIDENCE_REMOVED),
        *(A.APPLICATION_DECIDED, A.APPLICATION_WITHDRAWN),
        *(A.MEMBERSHIP_DECLARED, A.MEMBERSHIP_VERIFIED, A.MEMBERSHIP_REJECTED, A.MEMBERSHIP_ROSTER_IMPORTED),
        *(A.REFERENCE_NOMINATED, A.REFERENCE_REMOVED, A.REFERENCE_REQUESTS_SENT, A.REFERENCE_INVITED),
        *(A.REFERENCE_OPENED, A.REFERENCE_DRAFT_SAVED, A.REFERENCE_SUBMITTED, A.REFERENCE_DECLINED),
        *(A.REFERENCE_BOUNCED, A.REFERENCE_EXPIRED, A.REFERENCE_REMINDED, A.REFERENCE_FRESH_LINK_SENT),
        *(A.REFERENCE_EMAIL_CORRECTED, A.REFERENCE_REUSE_REQUESTED, A.REFERENCE_REUSE_CONFIRMED),
        *(A.REFERENCE_REQUESTS_CANCELLED, A.REFERENCE_REQUESTS_PAGE_LINK_SENT),
    }
)


def move_changed_at(sender: object, *, event: AuditEvent) -> None:
    """Subscribed to audit.services.recorded (in create_app)."""
    if event.action not in REPORTED:
        return
    application_id = application_of(event)
    if application_id is not None:
        db.session.execute(_MOVE_CHANGED_AT, {"application_id": application_id, "changed_at": utcnow()})


# move_changed_at's statement, built once: a change binds the application and the moment. On the table
# (a Core UPDATE), not the mapped class: nothing in the session is synchronised with it anyway, and the ORM's
# bulk-update path (an autoflush, the mapper's plugins) cost more than the statement on a referee's save.
_APPLICATION = cast("sa.Table", Application.__table__)
_MOVE_CHANGED_AT = (
    sa.update(_APPLICATION)
    .where(_APPLICATION.c.id == sa.bindparam("application_id"))
    .values(changed_at=sa.bindparam("changed_at", type_=_APPLICATION.c.changed_at.type))
)
