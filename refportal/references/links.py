"""The referee's link: signed over (reference id, per-invitation nonce), dated at the invitation, so a
reminder re-sends the identical link and a new nonce revokes it; issuing it, resolving it, the first
visit, and a fresh link after expiry."""

from __future__ import annotations

import functools
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import database_id, utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.mail.services import external_url, queue_email
from refportal.references.lifecycle import Event, ReferenceStatus, allows, transition
from refportal.references.models import Reference
from refportal.references.rating_form import DOMAINS
from refportal.security.tokens import TokenInvalid, load_token, make_token

TOKEN_PURPOSE = "reference-rating"
# The link still works after a bounce: a referee who got the message anyway may answer.


class LinkRevoked(Exception):
    """The link was replaced (new e-mail, new referee, fresh link) or its request ended: it no longer
    works. `reference` is the one it was for (its state says which)."""

    def __init__(self, reference: Reference):
        super().__init__("link revoked")
        self.reference = reference


class LinkClosed(Exception):
    """The reference was answered (submitted or declined) or withdrawn since the page was opened."""


def link_max_age() -> timedelta:
    return timedelta(seconds=current_app.config["REFERENCE_LINK_MAX_AGE"])


def link_deadline(reference: Reference) -> datetime:
    """When the current link stops working (only an invited reference has one)."""
    if reference.link_issued_at is None:
        raise ValueError(f"reference {reference.id} has not been invited: it has no link")
    return reference.link_issued_at + link_max_age()


def link_has_expired(reference: Reference) -> bool:
    return reference.status is ReferenceStatus.EXPIRED or utcnow() >= link_deadline(reference)


def link_token(reference: Reference) -> str:
    """The referee's link: the same token for as long as the invitation stands."""
    return make_token(
        TOKEN_PURPOSE, {"rid": reference.id, "n": reference.link_nonce}, issued_at=reference.link_issued_at
    )


def issue_link(
    reference: Reference, now: datetime, *, event: Event = Event.INVITE, template: str = "reference_request"
) -> None:
    """Issue a new link (revoking any earlier one) and queue the e-mail that carries it."""
    transition(reference, event)
    db.session.flush()  # the reference needs its id for the link
    reference.link_nonce = secrets.token_urlsafe(24)
    reference.link_issued_at = now
    reference.invited_at = now
    reference.expired_at = None
    record(AuditAction.REFERENCE_INVITED, obj=reference, template=template)
    send_link(reference, template)


# Every e-mail carrying the link of a request to reuse an earlier rating (the request itself, a
# reminder, a fresh link) asks the referee to confirm that rating.
REUSE_TEMPLATE = "reference_reuse_request"


def send_link(reference: Reference, template: str) -> None:
    application = reference.application
    token = link_token(reference)
    earlier = db.session.get(Reference, reference.reuses_id) if reference.reuses_id is not None else None
    with force_locale(reference.language):  # the referee's e-mails in the referee's language
        _queue_link_email(reference, application, template, token, earlier)


def _queue_link_email(
    reference: Reference, application: Application, template: str, token: str, earlier: Reference | None
) -> None:
    queue_email(
        REUSE_TEMPLATE if earlier is not None else template,
        reference.email,
        related=reference,
        reference=reference,
        applicant=application.applicant,
        application=application,
        link=external_url("referee.rating_form", token=token),
        decline_link=external_url("referee.decline", token=token),
        requests_link=external_url("referee.ask_for_my_requests", token=token),
        deadline=link_deadline(reference),
        domains=DOMAINS,
        earlier=earlier,
        reminder=template != "reference_request",
    )


def reference_for_token(token: str) -> Reference:
    """The reference a link is for, or TokenInvalid / TokenExpired / LinkRevoked."""
    payload = load_token(TOKEN_PURPOSE, token, current_app.config["REFERENCE_LINK_MAX_AGE"])
    return _reference_for_payload(payload)


@functools.cache
def _reference_with_its_applicant() -> sa.Select:
    """The referee's pages show the applicant and the application: one statement for all three, built
    once (on first use, when every model is mapped), so a request only binds the id."""
    return (
        sa.select(Reference)
        .where(Reference.id == sa.bindparam("rid"))
        .options(joinedload(Reference.application).joinedload(Application.applicant))
    )


def _reference_for_payload(payload: dict) -> Reference:
    rid = payload.get("rid")
    reference = (
        db.session.scalar(_reference_with_its_applicant(), {"rid": rid})
        if isinstance(rid, int) and database_id(rid) is not None
        else None
    )
    if reference is None:
        raise TokenInvalid("no such reference")
    if not reference.link_nonce or not secrets.compare_digest(reference.link_nonce, str(payload.get("n", ""))):
        raise LinkRevoked(reference)
    return reference


def reference_for_expired_payload(payload: dict | None) -> Reference:
    """The reference behind a genuine but expired link (to offer a fresh one), or LinkRevoked."""
    if not payload:
        raise TokenInvalid("unreadable")
    return _reference_for_payload(payload)


def record_opened(reference: Reference) -> bool:
    """Opening the link (GET) only notes the first visit; it never decides anything.
    True when this was the first visit (a change to commit)."""
    if not allows(reference, Event.OPEN):
        return False
    transition(reference, Event.OPEN)
    reference.opened_at = reference.opened_at or utcnow()
    record(AuditAction.REFERENCE_OPENED, obj=reference)
    return True


def send_fresh_link(*, reference: Reference) -> None:
    """After a link expired, the referee asks for a new one, sent to the same address."""
    if not allows(reference, Event.FRESH_LINK):
        raise LinkClosed()
    interval = timedelta(minutes=current_app.config["REFERENCE_FRESH_LINK_INTERVAL_MINUTES"])
    now = utcnow()
    if reference.link_issued_at and now - reference.link_issued_at < interval:
        raise Refused(_("A fresh link was sent a few minutes ago: please look in your inbox (and spam folder)."))
    issue_link(reference, now, event=Event.FRESH_LINK, template="reference_fresh_link")
    record(AuditAction.REFERENCE_FRESH_LINK_SENT, obj=reference)
