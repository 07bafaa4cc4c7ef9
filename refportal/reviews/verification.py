"""Item-by-item verification of a file: a reviewer records, per requirement, verified / not verified /
needs more with the reason (applications.verdicts holds the model). Only staff who may act on the file
(no conflict of interest), only while it awaits a decision, and only from the page that showed the
current verdict (a verdict from an older page, another tab, is refused)."""

from __future__ import annotations

import sqlalchemy as sa

from refportal.accounts.models import User
from refportal.applications.models import Application
from refportal.applications.verdicts import REASON_MAX, Requirement, RequirementVerdict, Verdict
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.reviews.conflicts import check_unconflicted
from refportal.reviews.decisions import NOT_UNDER_REVIEW

STALE = (
    "Another verdict on this item was recorded since this page was opened (in another tab, or by another "
    "reviewer). Read the current verdict below, then record yours again."
)


def record_verdict(
    *,
    application: Application,
    requirement: Requirement,
    verdict: Verdict,
    reason: str,
    reviewer: User,
    seen_version: int,
) -> RequirementVerdict:
    """Record a verdict: the requirement's next version (every earlier one stays). `seen_version`: the
    version of the current verdict on the page the reviewer sent it from (0: none)."""
    if not application.is_under_review:
        raise Refused(NOT_UNDER_REVIEW)
    check_unconflicted(application, reviewer)
    reason = reason.strip()
    if verdict.needs_reason and not reason:
        raise Refused("Say why: the applicant reads the reason with the item.", field="reason")
    if len(reason) > REASON_MAX:
        raise Refused(f"Keep the reason within {REASON_MAX:,} characters.", field="reason")
    if any(ord(c) < 32 and c not in "\n\t" or ord(c) == 127 for c in reason.replace("\r\n", "\n")):
        raise Refused("Remove the control characters from the reason (they cannot be stored).", field="reason")
    latest = db.session.scalar(
        sa.select(sa.func.max(RequirementVerdict.version)).where(
            RequirementVerdict.application_id == application.id, RequirementVerdict.requirement == requirement
        )
    )
    if (latest or 0) != seen_version:
        raise Refused(STALE)
    row = RequirementVerdict(
        application_id=application.id,
        requirement=requirement,
        version=seen_version + 1,  # a concurrent one with the same version breaks the unique constraint
        cycle=application.review_cycle,
        verdict=verdict,
        reason=reason.replace("\r\n", "\n"),
        reviewer_id=reviewer.id,
    )
    db.session.add(row)
    try:
        db.session.flush()
    except sa.exc.IntegrityError as exc:  # a concurrent verdict took this version (the request rolls back)
        raise Refused(STALE) from exc
    record(
        AuditAction.REVIEW_VERDICT_RECORDED,
        obj=application,
        actor=reviewer,
        requirement=requirement.value,
        verdict=verdict.value,
        version=row.version,
        round=application.review_cycle,
    )
    return row
