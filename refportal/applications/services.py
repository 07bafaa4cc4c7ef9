"""Application rules: opening (the one-credential rule), eligibility, withdrawal, the checklist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import User
from refportal.applications.categories import CATEGORIES, MENTOR_CATEGORY, Credential, EducationLevel, MentorTrack
from refportal.applications.eligibility import evaluate_eligibility, is_eligible
from refportal.applications.fees import FeeBreakdown, fee_breakdown
from refportal.applications.models import (
    ACTIVE_STATUSES,
    DECIDED_STATUSES,
    Application,
    ApplicationStatus,
)
from refportal.audit.services import record
from refportal.db import utcnow
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.membership.models import MembershipKind, MembershipStatus
from refportal.membership.services import membership_fee_due
from refportal.references.closing import cancel_requests
from refportal.references.models import ReferenceStatus
from refportal.references.nomination import REFERENCES_PER_APPLICATION, active_references, counted_references
from refportal.reviews.rounds import join_round


def check_can_open(*, applicant: User, credential: Credential, now: datetime) -> None:
    """The one-credential rule: one active application; the other credential only after a wait."""
    history = db.session.scalars(
        sa.select(Application).where(Application.applicant_id == applicant.id).order_by(Application.created_at)
    ).all()
    active = [a for a in history if a.status in ACTIVE_STATUSES]
    if active:
        current = active[0]
        raise Refused(
            f"You already have an active application ({current.credential.short}, {current.category_name}, "
            f"{current.status.label.lower()}). One application at a time: finish or withdraw it first.",
            field="credential",
        )
    wait = timedelta(days=current_app.config["OTHER_CREDENTIAL_WAIT_DAYS"])
    decided_other = [
        a.decided_at
        for a in history
        if a.credential is credential.other and a.status in DECIDED_STATUSES and a.decided_at
    ]
    if decided_other:
        last_decision = max(decided_other)
        allowed_from = last_decision + wait
        if now < allowed_from:
            raise Refused(
                f"You can apply for the {credential.short} from {allowed_from:%d %B %Y}: at least "
                f"{wait.days} days must pass after the decision on your {credential.other.short} application "
                f"({last_decision:%d %B %Y}).",
                field="credential",
            )


def open_application(
    *,
    applicant: User,
    credential: Credential,
    category: int,
    mentor_track: MentorTrack | None,
    now: datetime | None = None,
) -> Application:
    """Open a draft application for one credential and category (and a track for mentors)."""
    now = now or utcnow()
    if category not in CATEGORIES:
        raise Refused("Choose one of the four categories.", field="category")
    if category == MENTOR_CATEGORY and mentor_track is None:
        raise Refused("Mentors choose a track: Clinical, Policy or Research/Faculty.", field="mentor_track")
    if category != MENTOR_CATEGORY:
        mentor_track = None
    check_can_open(applicant=applicant, credential=credential, now=now)
    application = Application(
        applicant=applicant, credential=credential, category=category, mentor_track=mentor_track, created_at=now
    )
    db.session.add(application)
    record("application.opened", obj=application, actor=applicant, credential=credential.value, category=category)
    return application


MAX_HOURS = 5000
MAX_WORK_YEARS = 60


def record_eligibility(
    *,
    application: Application,
    actor: User,
    education_level: EducationLevel,
    work_years: Decimal,
    training_hours: int,
    rsc_hours: int,
    employer: str | None = None,
) -> None:
    """Store the applicant's education, experience and hours for the eligibility check (and where they
    work, for reviewers' conflicts of interest)."""
    if not application.is_editable:
        raise Refused("This application can no longer be changed.")
    if not 0 <= work_years <= MAX_WORK_YEARS:
        raise Refused(f"Enter years of work between 0 and {MAX_WORK_YEARS}.", field="work_years")
    for field, value in (("training_hours", training_hours), ("rsc_hours", rsc_hours)):
        if not 0 <= value <= MAX_HOURS:
            raise Refused(f"Enter a number of hours between 0 and {MAX_HOURS:,}.", field=field)
    application.education_level = education_level
    application.work_years = work_years
    application.training_hours = training_hours
    application.rsc_hours = rsc_hours
    application.employer = " ".join(employer.split())[:160] or None if employer else None
    application.eligibility_recorded_at = utcnow()
    record("application.eligibility_recorded", obj=application, actor=actor)


def withdraw_application(*, application: Application, actor: User) -> None:
    """The applicant withdraws an application that has not been decided."""
    if application.status not in ACTIVE_STATUSES:
        raise Refused("Only an open application can be withdrawn.")
    application.status = ApplicationStatus.WITHDRAWN
    record("application.withdrawn", obj=application, actor=actor)
    cancel_requests(application=application, actor=actor)


def fees_for(application: Application, today: date) -> FeeBreakdown:
    return fee_breakdown(
        schedule=current_app.config["FEE_SCHEDULE"],
        category=application.category,
        membership_fee_due=membership_fee_due(application, today),
    )


@dataclass(frozen=True)
class ChecklistItem:
    label: str
    done: bool
    detail: str


def application_checklist(application: Application, today: date) -> list[ChecklistItem]:
    """What the application still needs before it can be submitted."""
    checks = evaluate_eligibility(application, current_app.config["ELIGIBILITY_REQUIREMENTS"])
    if not application.eligibility_recorded:
        eligibility = ChecklistItem("Eligibility", False, "Not recorded yet")
    elif is_eligible(checks):
        eligibility = ChecklistItem("Eligibility", True, "Every requirement is met")
    else:
        unmet = ", ".join(c.label.lower() for c in checks if not c.met)
        eligibility = ChecklistItem("Eligibility", False, f"Not met: {unmet}")

    declaration = application.membership
    if declaration is None:
        membership = ChecklistItem("Membership", False, "Not declared yet")
    else:
        status = declaration.status_on(today)
        if declaration.kind is MembershipKind.WILL_JOIN:
            membership = ChecklistItem("Membership", True, "You will join: the membership fee is added")
        else:
            membership = ChecklistItem(
                "Membership",
                status in (MembershipStatus.DECLARED, MembershipStatus.VERIFIED),
                f"{declaration.association_label}: {status.label.lower()}",
            )
    return [eligibility, membership, _references_item(application)]


def _references_item(application: Application) -> ChecklistItem:
    active = active_references(application)
    counted = len(counted_references(application))
    if not active:
        return ChecklistItem("References", False, f"Not yet nominated (0 of {REFERENCES_PER_APPLICATION})")
    if counted == REFERENCES_PER_APPLICATION:
        return ChecklistItem("References", True, "Three ratings are in")
    waiting = sum(1 for r in active if r.status is ReferenceStatus.NOMINATED)
    detail = f"{counted} of {REFERENCES_PER_APPLICATION} ratings in"
    if len(active) < REFERENCES_PER_APPLICATION:
        detail += f"; {len(active)} of {REFERENCES_PER_APPLICATION} referees nominated"
    elif waiting:
        detail += "; requests not sent yet"
    return ChecklistItem("References", False, detail)


def ready_to_submit(checklist: list[ChecklistItem]) -> bool:
    return all(item.done for item in checklist)


def submit_application(*, application: Application, actor: User, today: date) -> None:
    """Send the application for review once every checklist item is done; references lock."""
    if not application.is_editable:
        raise Refused("This application has been submitted already.")
    missing = [item for item in application_checklist(application, today) if not item.done]
    if missing:
        raise Refused("Not ready to submit yet: " + "; ".join(f"{i.label.lower()} ({i.detail})" for i in missing) + ".")
    application.status = ApplicationStatus.SUBMITTED
    application.submitted_at = utcnow()
    join_round(application)
    record("application.submitted", obj=application, actor=actor, round=application.review_round_id)
