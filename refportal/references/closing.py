"""Requests that end before they are answered: withdrawn when the applicant replaces the referee or
corrects the address, cancelled when the application is withdrawn or decided. The link stops working
at once (its nonce is cleared), a draft is kept for the record but can no longer be edited, and a
referee who had been asked hears of it once, in their language."""

from __future__ import annotations

import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import rows_changed, utcnow
from refportal.extensions import db
from refportal.references.lifecycle import Event, allows, target
from refportal.references.models import Reference
from refportal.references.notices import tell_referee

REASONS = {Event.REPLACE: "replaced", Event.CORRECT_EMAIL: "email_corrected", Event.CANCEL: "application_ended"}


def end_request(reference: Reference, event: Event) -> bool:
    """Withdraw or cancel the request in one statement that checks its state is still the one read (so
    an answer given in the meantime stands); tell the referee if they had been asked. False if the state
    had changed."""
    seen, after = reference.status, target(reference, event)
    asked = not reference.awaits_request
    ended = rows_changed(
        db.session,
        sa.update(Reference)
        .where(Reference.id == reference.id, Reference.status == seen)
        .values(status=after, withdrawn_at=utcnow(), link_nonce=None),
    )
    db.session.refresh(reference)
    if ended != 1:
        return False
    if asked:
        tell_referee(reference, "reference_cancelled", reason=REASONS[event])
    return True


def cancel_requests_of_closed_application(sender: object, *, application: Application, actor: User | None) -> None:
    """Subscribed to applications.lifecycle.closed: no request outlives a withdrawn or decided application."""
    cancel_requests(application=application, actor=actor)


def cancel_requests(*, application: Application, actor: User | None) -> list[Reference]:
    """The application was withdrawn or decided: every request not answered yet ends."""
    cancelled = [
        reference
        for reference in list(application.references)
        if allows(reference, Event.CANCEL) and end_request(reference, Event.CANCEL)
    ]
    if cancelled:
        record(
            AuditAction.REFERENCE_REQUESTS_CANCELLED,
            obj=application,
            actor=actor,
            references=[reference.id for reference in cancelled],
        )
    return cancelled
