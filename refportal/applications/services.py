"""Application rules: opening (the one-credential rule), eligibility, withdrawal."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from refportal.accounts.models import User
from refportal.applications.categories import CATEGORIES, MENTOR_CATEGORY, Credential, EducationLevel, MentorTrack
from refportal.applications.fees import application_account
from refportal.applications.lifecycle import ACTIVE, DECIDED, Event, transition
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.db import utcnow
from refportal.exceptions import Refused
from refportal.extensions import db


def check_can_open(*, applicant: User, credential: Credential, now: datetime) -> None:
    """The one-credential rule: one active application; the other credential only after a wait."""
    history = db.session.scalars(
        sa.select(Application).where(Application.applicant_id == applicant.id).order_by(Application.created_at)
    ).all()
    active = [a for a in history if a.status in ACTIVE]
    if active:
        current = active[0]
        raise Refused(
            f"You already have an active application ({current.credential.short}, {current.category_name}, "
            f"{current.status.label.lower()}). One application at a time: finish or withdraw it first.",
            field="credential",
        )
    wait = timedelta(days=current_app.config["OTHER_CREDENTIAL_WAIT_DAYS"])
    decided_other = [
        a.decided_at for a in history if a.credential is credential.other and a.status in DECIDED and a.decided_at
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
    reinstates_endorsement_id: int | None = None,
) -> Application:
    """Open a draft application for one credential and category (and a track for mentors); with
    `reinstates_endorsement_id`, the reinstatement of that lapsed endorsement (see
    refportal.endorsements.reinstatement, which checks it)."""
    now = now or utcnow()
    if category not in CATEGORIES:
        raise Refused("Choose one of the four categories.", field="category")
    if category == MENTOR_CATEGORY and mentor_track is None:
        raise Refused("Mentors choose a track: Clinical, Policy or Research/Faculty.", field="mentor_track")
    if category != MENTOR_CATEGORY:
        mentor_track = None
    check_can_open(applicant=applicant, credential=credential, now=now)
    application = Application(
        applicant=applicant,
        credential=credential,
        category=category,
        mentor_track=mentor_track,
        created_at=now,
        reinstates_endorsement_id=reinstates_endorsement_id,
    )
    db.session.add(application)
    record(
        AuditAction.APPLICATION_OPENED, obj=application, actor=applicant, credential=credential.value, category=category
    )
    # Its fees owed from the start; the membership fee until a current membership is declared.
    application_account(application, membership_fee_due=True, actor=applicant)
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
    work, for reviewers' conflicts of interest): the self-reported totals of an application opened before
    evidence entries (any other reads its entries: applications.evidence)."""
    if not application.is_editable:
        raise Refused("This application can no longer be changed.")
    if application.from_entries:
        raise Refused("This application's eligibility comes from its evidence entries: add them on its evidence page.")
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
    record(AuditAction.APPLICATION_ELIGIBILITY_RECORDED, obj=application, actor=actor)


def withdraw_application(*, application: Application, actor: User) -> None:
    """The applicant withdraws an application that has not been decided."""
    transition(application, Event.WITHDRAW, actor=actor)  # its open referee requests end
    record(AuditAction.APPLICATION_WITHDRAWN, obj=application, actor=actor)
