"""One page per referee: "My reference requests", every request addressed to one e-mail address,
reached through a signed, expiring link sent to that address (a referee has no account). Any genuine
request link (even an expired or replaced one) can ask for it; the link goes only to the address the
request was sent to, and a new link revokes the earlier ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.i18n import LANGUAGES
from refportal.mail.services import external_url, queue_email
from refportal.references.lifecycle import ENDED, ReferenceStatus
from refportal.references.links import link_deadline, link_token
from refportal.references.models import RefereePageAccess, Reference
from refportal.security.tokens import TokenInvalid, load_token, make_token

TOKEN_PURPOSE = "referee-requests"


# How the referee's page names each state it lists.
KINDS = {
    ReferenceStatus.SUBMITTED: "completed",
    ReferenceStatus.DECLINED: "declined",
    ReferenceStatus.EXPIRED: "expired",
    ReferenceStatus.IN_PROGRESS: "draft",
}


@dataclass(frozen=True)
class RequestRow:
    reference: Reference
    kind: str  # open, draft, expired, completed or declined
    link: str | None  # the rating form, while the request has a link
    deadline: datetime | None


def send_requests_page_link(*, reference: Reference) -> None:
    """E-mail the address of `reference` a link to every request sent to it (at most once per interval)."""
    access = db.session.get(RefereePageAccess, reference.email)
    if access is None:
        access = RefereePageAccess(email=reference.email, version=0)
        db.session.add(access)
    interval = timedelta(minutes=current_app.config["REFERENCE_FRESH_LINK_INTERVAL_MINUTES"])
    now = utcnow()
    if access.last_sent_at is not None and now - access.last_sent_at < interval:
        raise Refused(
            _("A link to your requests was sent a few minutes ago: please look in your inbox (and spam folder).")
        )
    access.version += 1
    access.last_sent_at = now
    token = make_token(TOKEN_PURPOSE, {"email": reference.email, "v": access.version, "lang": reference.language})
    hours = current_app.config["REFEREE_PAGE_MAX_AGE"] // 3600
    with force_locale(reference.language):
        queue_email(
            "referee_requests_link",
            reference.email,
            related=reference,
            reference=reference,
            link=external_url("referee.my_requests", token=token),
            valid_hours=hours,
        )
    record(AuditAction.REFERENCE_REQUESTS_PAGE_LINK_SENT, obj=reference)


def address_for_token(token: str) -> tuple[str, str]:
    """The address (and language) a genuine, unexpired, latest page link is for; TokenInvalid /
    TokenExpired otherwise (an older link counts as invalid)."""
    payload = load_token(TOKEN_PURPOSE, token, current_app.config["REFEREE_PAGE_MAX_AGE"])
    email, version = payload.get("email"), payload.get("v")
    access = db.session.get(RefereePageAccess, email) if isinstance(email, str) else None
    if access is None or access.version != version:
        raise TokenInvalid("a newer link was sent")
    language = payload.get("lang")
    return access.email, language if isinstance(language, str) and language in LANGUAGES else "en"


def requests_for(email: str) -> list[RequestRow]:
    """Every request sent to `email` and not withdrawn, newest first: open, drafted, expired, answered."""
    references = db.session.scalars(
        sa.select(Reference)
        .where(Reference.email == email, Reference.status.not_in([*ENDED, ReferenceStatus.NOMINATED]))
        .options(joinedload(Reference.application).joinedload(Application.applicant))
        .order_by(Reference.invited_at.desc(), Reference.id.desc())
    ).all()
    return [
        RequestRow(
            reference,
            KINDS.get(reference.status, "open"),
            link_token(reference) if reference.link_nonce else None,
            link_deadline(reference) if reference.link_issued_at and reference.is_awaiting_answer else None,
        )
        for reference in references
    ]
