"""What the API reports of applications: status, round, dates, decision, membership status and the
references counted by status — never a rating's content or a referee's words."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager

from refportal.accounts.models import User
from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.extensions import db
from refportal.membership.models import MembershipDeclaration
from refportal.references.models import Reference
from refportal.reviews.models import ReviewRound
from refportal.security.tokens import TokenExpired, TokenInvalid, load_token, make_token

CURSOR_PURPOSE = "api-cursor"
CURSOR_MAX_AGE = 30 * 24 * 3600


class BadCursor(ValueError):
    """A cursor this portal did not hand out (or one too old)."""


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def make_cursor(application: Application) -> str:
    return make_token(CURSOR_PURPOSE, {"c": as_utc(application.changed_at).isoformat(), "i": application.id})


def read_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        payload = load_token(CURSOR_PURPOSE, cursor, CURSOR_MAX_AGE)
        changed, application_id = datetime.fromisoformat(payload["c"]), int(payload["i"])
    except (TokenInvalid, TokenExpired, KeyError, TypeError, ValueError) as exc:
        raise BadCursor("This cursor was not handed out by this API, or is too old: start again without it.") from exc
    return changed, application_id


@dataclass(frozen=True)
class ApplicationPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def _query() -> Any:  # a Select of (Application, MembershipDeclaration | None, ReviewRound | None)
    return (
        sa.select(Application, MembershipDeclaration, ReviewRound)
        .join(User, Application.applicant_id == User.id)
        .outerjoin(MembershipDeclaration, MembershipDeclaration.application_id == Application.id)
        .outerjoin(ReviewRound, Application.review_round_id == ReviewRound.id)
        .options(contains_eager(Application.applicant))
    )


def page_of_changes(*, changed_since: datetime | None, cursor: str | None, limit: int) -> ApplicationPage:
    """Applications in the order they last changed (oldest first, then by id): a client stores
    `next_cursor` and asks again from there; three statements a page."""
    query = _query()
    if changed_since is not None:
        # In UTC here, so a moment outside the representable years is an OverflowError now (a 422).
        query = query.where(Application.changed_at > as_utc(changed_since).astimezone(UTC))
    if cursor is not None:
        changed, last_id = read_cursor(cursor)
        query = query.where(
            sa.or_(
                Application.changed_at > changed,
                sa.and_(Application.changed_at == changed, Application.id > last_id),
            )
        )
    rows = db.session.execute(query.order_by(Application.changed_at, Application.id).limit(limit + 1)).all()
    shown = rows[:limit]
    items = _describe([(row[0], row[1], row[2]) for row in shown])
    next_cursor = make_cursor(shown[-1][0]) if len(rows) > limit else None
    return ApplicationPage(items=items, next_cursor=next_cursor)


def one_application(application_id: int) -> dict[str, Any] | None:
    row = db.session.execute(_query().where(Application.id == application_id)).first()
    return _describe([(row[0], row[1], row[2])])[0] if row is not None else None


def _describe(rows: list[tuple[Application, MembershipDeclaration | None, ReviewRound | None]]) -> list[dict]:
    ids = [application.id for application, _, _ in rows]
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    if ids:
        for application_id, status, number in db.session.execute(
            sa.select(Reference.application_id, Reference.status, sa.func.count(Reference.id))
            .where(Reference.application_id.in_(ids))
            .group_by(Reference.application_id, Reference.status)
        ):
            counts[application_id][status.value] = number
    today = utc_today()
    months = current_app.config["ENDORSEMENT_RENEWAL_MONTHS"]
    return [
        {
            "id": application.id,
            "applicant": {"name": application.applicant.name, "email": application.applicant.email},
            "credential": application.credential.value,
            "category": application.category,
            "category_name": application.category_name,
            "status": application.status.value,
            "round": (
                {"id": review_round.id, "name": review_round.name, "review_due": review_round.review_due}
                if review_round is not None
                else None
            ),
            "created_at": as_utc(application.created_at),
            "submitted_at": as_utc(application.submitted_at) if application.submitted_at else None,
            "decided_at": as_utc(application.decided_at) if application.decided_at else None,
            "renews_on": application.renews_on(months),
            "membership_status": membership.status_on(today).value if membership is not None else None,
            "references": counts.get(application.id, {}),
            "changed_at": as_utc(application.changed_at),
        }
        for application, membership, review_round in rows
    ]
