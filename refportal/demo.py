"""`flask seed-demo`: demo accounts and applications in different states; safe to run again."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from refportal.accounts.models import Role, User
from refportal.accounts.services import create_user, find_user_by_email
from refportal.applications.categories import Credential, EducationLevel
from refportal.applications.models import Application, ApplicationStatus
from refportal.applications.services import open_application, record_eligibility
from refportal.db import utcnow
from refportal.extensions import db
from refportal.membership.models import Association, MembershipKind
from refportal.membership.services import declare_membership

DEMO_PASSWORD = "demo-password-2026"

DEMO_USERS = [
    ("admin@example.org", "Alex Admin", Role.ADMIN, "administrator"),
    ("reviewer@example.org", "Rita Reviewer", Role.REVIEWER, "reviewer"),
    ("ana@example.org", "Ana Applicant", Role.APPLICANT, "applicant, no application yet"),
    ("ben@example.org", "Ben Okafor", Role.APPLICANT, "IMH-E category 2, eligible, member of INfancy Onward"),
    ("carla@example.org", "Carla Mendes", Role.APPLICANT, "ECMH-E category 3, short of RSC hours, will join"),
    ("dev@example.org", "Dev Patel", Role.APPLICANT, "endorsed IMH-E 3 months ago: ECMH-E not yet allowed"),
]


def _user(email: str, name: str, role: Role) -> User:
    return find_user_by_email(email) or create_user(email=email, name=name, role=role, password=DEMO_PASSWORD)


def _has_application(user: User) -> bool:
    return db.session.scalar(sa.select(sa.func.count(Application.id)).where(Application.applicant_id == user.id)) > 0


def seed_demo_data() -> list[tuple[str, str, str]]:
    """Create whatever is missing of the demo set; returns (e-mail, role, what it shows)."""
    users = {email: _user(email, name, role) for email, name, role, _ in DEMO_USERS}
    today = date.today()

    ben = users["ben@example.org"]
    if not _has_application(ben):
        application = open_application(applicant=ben, credential=Credential.IMH_E, category=2, mentor_track=None)
        record_eligibility(application=application, actor=ben, education_level=EducationLevel.BACHELOR,
                           work_years=Decimal("4"), training_hours=42, rsc_hours=30)
        declare_membership(application=application, actor=ben, kind=MembershipKind.CURRENT_MEMBER,
                           association=Association.INFANCY_ONWARD, association_name=None,
                           member_number="IO-20417", expires_on=today + timedelta(days=300), today=today)

    carla = users["carla@example.org"]
    if not _has_application(carla):
        application = open_application(applicant=carla, credential=Credential.ECMH_E, category=3, mentor_track=None)
        record_eligibility(application=application, actor=carla, education_level=EducationLevel.MASTER,
                           work_years=Decimal("6.5"), training_hours=64, rsc_hours=20)
        declare_membership(application=application, actor=carla, kind=MembershipKind.WILL_JOIN, association=None,
                           association_name=None, member_number=None, expires_on=None, today=today)

    dev = users["dev@example.org"]
    if not _has_application(dev):
        decided = utcnow() - timedelta(days=90)
        application = open_application(applicant=dev, credential=Credential.IMH_E, category=1, mentor_track=None,
                                        now=decided - timedelta(days=120))
        record_eligibility(application=application, actor=dev, education_level=EducationLevel.ASSOCIATE,
                           work_years=Decimal("3"), training_hours=35, rsc_hours=0)
        application.status = ApplicationStatus.ENDORSED
        application.submitted_at = decided - timedelta(days=60)
        application.decided_at = decided

    return [(email, role.value, note) for email, _, role, note in DEMO_USERS]


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load the demo accounts and applications (idempotent) and print the logins."""
    logins = seed_demo_data()
    db.session.commit()
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, role, note in logins:
        click.echo(f"  {email:<24} {role:<10} {note}")
