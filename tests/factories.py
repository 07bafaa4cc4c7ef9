"""Test data in one place."""

from __future__ import annotations

import io
import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal

from refportal.accounts.models import Role, User
from refportal.applications.categories import Credential, EducationLevel, MentorTrack
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application
from refportal.db import utc_today, utcnow
from refportal.documents.models import Document
from refportal.extensions import db
from refportal.membership.models import Association, MembershipDeclaration, MembershipKind
from refportal.security.passwords import hash_password

DEFAULT_PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def _commit() -> None:
    """Commit, then reload every object in the session so tests can read them after the app context ends."""
    db.session.commit()
    for obj in list(db.session.identity_map.values()):
        db.session.refresh(obj)


def make_user(
    *,
    email: str | None = None,
    name: str | None = None,
    role: Role = Role.APPLICANT,
    verified: bool = True,
    password: str = DEFAULT_PASSWORD,
) -> User:
    n = next(_counter)
    user = User(
        email=email or f"person{n}@example.org",
        name=name or f"Person {n}",
        role=role,
        password_hash=hash_password(password),
        email_verified_at=utcnow() if verified else None,
    )
    db.session.add(user)
    _commit()
    return user


def make_application(
    applicant: User,
    *,
    credential: Credential = Credential.IMH_E,
    category: int = 2,
    mentor_track: MentorTrack | None = None,
    status: ApplicationStatus = ApplicationStatus.DRAFT,
    decided_at: datetime | None = None,
) -> Application:
    application = Application(
        applicant=applicant,
        credential=credential,
        category=category,
        mentor_track=mentor_track,
        status=status,
        decided_at=decided_at,
    )
    db.session.add(application)
    _commit()
    return application


def record_eligibility(
    application: Application,
    *,
    education: EducationLevel = EducationLevel.BACHELOR,
    work_years: str = "3",
    training_hours: int = 40,
    rsc_hours: int = 30,
) -> Application:
    application.education_level = education
    application.work_years = Decimal(work_years)
    application.training_hours = training_hours
    application.rsc_hours = rsc_hours
    application.eligibility_recorded_at = utcnow()
    _commit()
    return application


def declare_current_membership(application: Application, *, expires_on: date | None = None) -> MembershipDeclaration:
    declaration = MembershipDeclaration(
        application=application,
        kind=MembershipKind.CURRENT_MEMBER,
        association=Association.INFANCY_ONWARD,
        member_number="IO-1",
        expires_on=expires_on or utc_today() + timedelta(days=200),
    )
    db.session.add(declaration)
    _commit()
    return declaration


def make_scanned_document(application_id: int, uploader: User | None = None) -> Document:
    """A transcript (a small PDF) of the application, stored by the configured backend and scanned clean."""
    from werkzeug.datastructures import FileStorage

    from refportal.documents.lifecycle import ScanEvent, transition
    from refportal.documents.models import DocumentPurpose
    from refportal.documents.services import store_document
    from tests.documents_samples import pdf

    document = store_document(
        application_id=application_id,
        purpose=DocumentPurpose.TRANSCRIPT,
        upload=FileStorage(io.BytesIO(pdf()), filename="transcript.pdf"),
        actor=uploader,
    )
    transition(document, ScanEvent.CLEAN)
    return document
