"""`flask seed-demo`: demo accounts and applications in different states; safe to run again."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from refportal.accounts.models import Role, User
from refportal.accounts.services import create_user, find_user_by_email
from refportal.applications import evidence, lifecycle
from refportal.applications.categories import Credential, EducationLevel, MentorTrack
from refportal.applications.fees import application_account
from refportal.applications.models import Application
from refportal.applications.services import open_application
from refportal.db import utc_today, utcnow
from refportal.endorsements.models import Endorsement, EndorsementChange
from refportal.endorsements.renewal_notices import advance
from refportal.endorsements.services import save_listing_choices
from refportal.extensions import db
from refportal.membership.models import Association, MembershipKind
from refportal.membership.services import declare_membership, membership_fee_due
from refportal.payments.ledger import owed_for, totals_of
from refportal.payments.models import FeeKind, PaymentMethod
from refportal.payments.services import record_payment
from refportal.portfolio.models import RscFormat
from refportal.references.answers import decline_reference, save_draft, submit_rating
from refportal.references.models import Reference
from refportal.references.nomination import nominate_referee, send_requests
from refportal.references.rating_form import ITEM_KEYS
from refportal.references.roles import RefereeRole
from refportal.reviews.assignments import assign
from refportal.reviews.models import ReviewRound
from refportal.reviews.rounds import create_round, next_quarter
from refportal.submission.services import submit_application
from refportal.transactions import unit_of_work

DEMO_PASSWORD = "demo-password-2026"

DEMO_USERS = [
    ("admin@example.org", "Alex Admin", Role.ADMIN, "administrator"),
    ("reviewer@example.org", "Rita Reviewer", Role.REVIEWER, "reviewer, assigned to Fay's file"),
    ("reviewer2@example.org", "Rafe Reviewer", Role.REVIEWER, "reviewer, assigned to Fay's file"),
    ("ana@example.org", "Ana Applicant", Role.APPLICANT, "applicant, no application yet"),
    (
        "ben@example.org",
        "Ben Okafor",
        Role.APPLICANT,
        "IMH-E category 2, eligible, member of INfancy Onward; fees not paid yet",
    ),
    ("carla@example.org", "Carla Mendes", Role.APPLICANT, "ECMH-E category 3, short of RSC hours, will join"),
    ("dev@example.org", "Dev Patel", Role.APPLICANT, "endorsed IMH-E 3 months ago: ECMH-E not yet allowed"),
    (
        "eve@example.org",
        "Eve Laurent",
        Role.APPLICANT,
        "IMH-E category 3, application fee paid by cheque, references asked: one in, one draft, one declined",
    ),
    (
        "fay@example.org",
        "Fay Okonkwo",
        Role.APPLICANT,
        "ECMH-E category 2, fees paid by bank transfer, submitted with three ratings: ready to review",
    ),
    ("gia@example.org", "Gia Romano", Role.APPLICANT, "endorsed IMH-E 3, listed in the registry with her city"),
    ("hal@example.org", "Hal Nguyen", Role.APPLICANT, "endorsed ECMH-E 4 (Mentor, Clinical), listed without a city"),
    ("imani@example.org", "Imani Brooks", Role.APPLICANT, "endorsed IMH-E 2, not listed: verification page only"),
    ("jo@example.org", "Jo Park", Role.APPLICANT, "endorsed IMH-E 2 eleven months ago: the renewal is open"),
    ("kim@example.org", "Kim Osei", Role.APPLICANT, "endorsed ECMH-E 1, not renewed: lapsed, may reinstate"),
]

# The demo's registry: (e-mail, credential, category, mentor track, days since the decision, listed, city).
DEMO_ENDORSEES = [
    ("gia@example.org", Credential.IMH_E, 3, None, 200, True, "Ann Arbor, Michigan"),
    ("hal@example.org", Credential.ECMH_E, 4, MentorTrack.CLINICAL, 40, True, None),
    ("imani@example.org", Credential.IMH_E, 2, None, 300, False, None),
    ("jo@example.org", Credential.IMH_E, 2, None, 335, True, "Grand Rapids, Michigan"),
    ("kim@example.org", Credential.ECMH_E, 1, None, 420, True, None),
]

# Eve's referees answer in the demo; their links are in the mail viewer like any other.
DEMO_REFEREES = [
    ("Grace Holt", "grace.holt@example.net", RefereeRole.SUPERVISOR, "Riverside Family Services", True),
    ("Ivan Ruiz", "ivan.ruiz@example.net", RefereeRole.RSC_PROVIDER, "Reflective Practice Collaborative", True),
    ("June Park", "june.park@example.net", RefereeRole.COLLEAGUE, "Riverside Family Services", False),
]


def _user(email: str, name: str, role: Role) -> User:
    return find_user_by_email(email) or create_user(email=email, name=name, role=role, password=DEMO_PASSWORD)


def _enter_evidence(
    application: Application,
    actor: User,
    *,
    education: EducationLevel,
    work_years: Decimal,
    training_hours: int,
    rsc_hours: int,
) -> None:
    """The application's evidence as the applicant enters it: a degree, full-time work with the credential's
    ages for `work_years` up to today, one training and (if any) one stretch of RSC from a credentialed
    provider."""
    today = utc_today()
    evidence.add_education(
        application=application,
        actor=actor,
        level=education.value,
        field_of_study="Child development",
        institution="State University",
        year_completed=today.year - 10,
    )
    evidence.add_work(
        application=application,
        actor=actor,
        employer=f"{actor.name.split()[0]}'s early childhood program",
        role="Home visitor",
        starts_on=today - timedelta(days=math.ceil(work_years * Decimal("365.25"))),
        ends_on=None,
        hours_per_week=40,
        serves_0_3=application.credential is Credential.IMH_E,
        serves_3_6=application.credential is Credential.ECMH_E,
        description=None,
    )
    evidence.add_training(
        application=application,
        actor=actor,
        title="Relationship-based practice series",
        provider="INfancy Onward",
        taken_on=today - timedelta(days=200),
        hours=Decimal(training_hours),
    )
    if rsc_hours:
        evidence.add_rsc(
            application=application,
            actor=actor,
            provider="Morgan Reyes",
            provider_credential="IMH-E Mentor–Clinical",
            starts_on=today - timedelta(days=365),
            ends_on=today - timedelta(days=1),
            hours=Decimal(rsc_hours),
            format=RscFormat.INDIVIDUAL,
        )


def _has_application(user: User) -> bool:
    return db.session.scalar(sa.select(Application.id).where(Application.applicant_id == user.id).limit(1)) is not None


def seed_demo_data() -> list[tuple[str, str, str]]:
    """Create whatever is missing of the demo set; returns (e-mail, role, what it shows)."""
    users = {email: _user(email, name, role) for email, name, role, _ in DEMO_USERS}
    today = utc_today()
    if not db.session.scalar(sa.select(ReviewRound.id).limit(1)):  # the current quarter's round
        suggested = next_quarter(today)
        create_round(
            name=suggested.name,
            opens_on=suggested.opens_on,
            submission_deadline=suggested.submission_deadline,
            review_due=suggested.review_due,
            actor=users["admin@example.org"],
        )

    ben = users["ben@example.org"]
    if not _has_application(ben):
        application = open_application(applicant=ben, credential=Credential.IMH_E, category=2, mentor_track=None)
        _enter_evidence(
            application,
            ben,
            education=EducationLevel.BACHELOR,
            work_years=Decimal("4"),
            training_hours=42,
            rsc_hours=30,
        )
        declare_membership(
            application=application,
            actor=ben,
            kind=MembershipKind.CURRENT_MEMBER,
            association=Association.INFANCY_ONWARD,
            association_name=None,
            member_number="IO-20417",
            expires_on=today + timedelta(days=300),
            today=today,
        )

    carla = users["carla@example.org"]
    if not _has_application(carla):
        application = open_application(applicant=carla, credential=Credential.ECMH_E, category=3, mentor_track=None)
        _enter_evidence(
            application,
            carla,
            education=EducationLevel.MASTER,
            work_years=Decimal("6.5"),
            training_hours=64,
            rsc_hours=20,
        )
        declare_membership(
            application=application,
            actor=carla,
            kind=MembershipKind.WILL_JOIN,
            association=None,
            association_name=None,
            member_number=None,
            expires_on=None,
            today=today,
        )

    dev = users["dev@example.org"]
    if not _has_application(dev):
        decided = utcnow() - timedelta(days=90)
        application = open_application(
            applicant=dev, credential=Credential.IMH_E, category=1, mentor_track=None, now=decided - timedelta(days=120)
        )
        _enter_evidence(
            application,
            dev,
            education=EducationLevel.ASSOCIATE,
            work_years=Decimal("3"),
            training_hours=35,
            rsc_hours=0,
        )
        _endorse_in_the_past(application, decided)

    for email, credential, category, track, days_ago, listed, city in DEMO_ENDORSEES:
        endorsee = users[email]
        if _has_application(endorsee):
            continue
        decided = utcnow() - timedelta(days=days_ago)
        application = open_application(
            applicant=endorsee,
            credential=credential,
            category=category,
            mentor_track=track,
            now=decided - timedelta(days=120),
        )
        _enter_evidence(
            application,
            endorsee,
            education=EducationLevel.MASTER,
            work_years=Decimal("8"),
            training_hours=60,
            rsc_hours=60,
        )
        endorsement = _endorse_in_the_past(application, decided)
        save_listing_choices(holder=endorsee, listed=listed, show_city=city is not None, city=city)
        advance(endorsement, today)  # as the worker's job would have: Jo's window opens, Kim's lapses

    eve = users["eve@example.org"]
    if not _has_application(eve):
        _seed_references(eve, today)

    fay = users["fay@example.org"]
    if not _has_application(fay):
        application = _seed_submitted(fay, today)
        for reviewer in ("reviewer@example.org", "reviewer2@example.org"):
            assign(application=application, reviewer=users[reviewer], actor=users["admin@example.org"])

    return [(email, role.value, note) for email, _, role, note in DEMO_USERS]


def _endorse_in_the_past(application: Application, decided: datetime) -> Endorsement:
    """A past endorsement, as the lifecycle makes one (the demo skips the references), dated back with
    its endorsement record."""
    lifecycle.transition(application, lifecycle.Event.SUBMIT, actor=application.applicant)
    lifecycle.transition(application, lifecycle.Event.ENDORSE, actor=None)
    application.submitted_at = decided - timedelta(days=60)
    application.decided_at = decided
    application.review_round = None  # submitted long before this quarter's round
    endorsement = db.session.scalars(sa.select(Endorsement).where(Endorsement.application_id == application.id)).one()
    endorsement.issued_on = endorsement.period_starts_on = decided.date()
    ends_on = application.renews_on(current_app.config["ENDORSEMENT_RENEWAL_MONTHS"])
    assert ends_on is not None
    endorsement.period_ends_on, endorsement.status_changed_at = ends_on, decided
    for change in db.session.scalars(
        sa.select(EndorsementChange).where(EndorsementChange.endorsement_id == endorsement.id)
    ):
        change.changed_at = decided
    return endorsement


def _seed_references(applicant: User, today: date) -> None:
    application = _eligible_member(
        applicant,
        today,
        credential=Credential.IMH_E,
        category=3,
        education=EducationLevel.MASTER,
        association=Association.WAIMH,
        member_number="W-5521",
        expires_in_days=120,
    )
    _pay(application, today, method=PaymentMethod.CHEQUE, reference="Cheque 1042", first_fee_only=True)
    grace, ivan, june = _nominate_and_ask(application, applicant, DEMO_REFEREES)
    submit_rating(reference=grace, nonce=grace.link_nonce, answers=_answers(grace, "4"))
    save_draft(
        reference=ivan,
        nonce=ivan.link_nonce,
        answers={"items": {key: "5" for key in ITEM_KEYS[:8]}, "strengths": "Seeks out supervision."},
    )
    decline_reference(reference=june, nonce=june.link_nonce, reason="I have only known Eve for a few months.")


FAY_REFEREES = [
    ("Hana Ito", "hana.ito@example.net", RefereeRole.SUPERVISOR, "Little Steps Preschool", True),
    ("Omar Haddad", "omar.haddad@example.net", RefereeRole.RSC_PROVIDER, "Reflective Practice Collaborative", False),
    ("Lena Berg", "lena.berg@example.net", RefereeRole.COLLEAGUE, "Little Steps Preschool", False),
]


def _seed_submitted(applicant: User, today: date) -> Application:
    """A complete application awaiting review; one rating has low scores beside a recommendation."""
    application = _eligible_member(
        applicant,
        today,
        credential=Credential.ECMH_E,
        category=2,
        education=EducationLevel.BACHELOR,
        association=Association.INFANCY_ONWARD,
        member_number="IO-31877",
        expires_in_days=240,
    )
    _pay(application, today, method=PaymentMethod.BANK_TRANSFER, reference="Transfer IO-2291")
    hana, omar, lena = _nominate_and_ask(application, applicant, FAY_REFEREES)
    submit_rating(reference=hana, nonce=hana.link_nonce, answers=_answers(hana, "5"))
    submit_rating(
        reference=omar,
        nonce=omar.link_nonce,
        answers=_answers(omar, "4", recommendation="recommend_with_reservations", na=3),
    )
    submit_rating(reference=lena, nonce=lena.link_nonce, answers=_answers(lena, "4", low=4))
    submit_application(application=application, actor=applicant, today=today)
    return application


def _pay(
    application: Application, today: date, *, method: PaymentMethod, reference: str, first_fee_only: bool = False
) -> None:
    """A payment staff recorded (its receipt is in the mail viewer): the application fee only, or all owed."""
    account = application_account(application, membership_fee_due=membership_fee_due(application, today))
    assert account is not None
    owed = owed_for(account, (FeeKind.APPLICATION,)) if first_fee_only else totals_of(account).balance
    staff = db.session.scalar(sa.select(User).where(User.email == "admin@example.org"))
    record_payment(
        account=account, method=method, amount_cents=owed, received_on=today, reference=reference, actor=staff
    )


def _eligible_member(
    applicant: User,
    today: date,
    *,
    credential: Credential,
    category: int,
    education: EducationLevel,
    association: Association,
    member_number: str,
    expires_in_days: int,
):
    """An application with eligibility met and a current membership declared."""
    application = open_application(applicant=applicant, credential=credential, category=category, mentor_track=None)
    _enter_evidence(
        application,
        applicant,
        education=education,
        work_years=Decimal("4"),
        training_hours=60,
        rsc_hours=64,
    )
    declare_membership(
        application=application,
        actor=applicant,
        kind=MembershipKind.CURRENT_MEMBER,
        association=association,
        association_name=None,
        member_number=member_number,
        expires_on=today + timedelta(days=expires_in_days),
        today=today,
    )
    return application


def _nominate_and_ask(application, applicant, referees):
    nominated = [
        nominate_referee(
            application=application,
            actor=applicant,
            name=name,
            email=email,
            organisation=organisation,
            role=role,
            setting="Work with young children and families",
            known_years=Decimal("3"),
            endorsed_credential=application.credential if endorsed else None,
            endorsed_category=3 if endorsed else None,
            waived=True,
        )
        for name, email, role, organisation, endorsed in referees
    ]
    send_requests(application=application, actor=applicant)
    return nominated


def _answers(reference: Reference, score: str, *, recommendation: str = "recommend", na: int = 0, low: int = 0) -> dict:
    """A demo rating by `reference`: `na` items without enough information, `low` items rated 2."""
    items = {}
    for index, key in enumerate(ITEM_KEYS):
        items[key] = "na" if index < na else ("2" if index >= len(ITEM_KEYS) - low else score)
    return {
        "items": items,
        "recommendation": recommendation,
        "strengths": "Attuned, warm and reflective with families; steady under pressure.",
        "growth": "Building confidence in leading team case reviews.",
        "for_reviewers": "",
        "relationship_role": "Supervisor or colleague",
        "relationship_setting": "Early childhood program",
        "relationship_years": "3",
        "referee_role": reference.role.value,
        "endorsement": "none",
        "attestation_name": reference.name,
        "attest": True,
    }


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load the demo accounts and applications (idempotent) and print the logins; development only."""
    if current_app.config["ENV_NAME"] != "development":
        raise click.ClickException(
            "seed-demo creates accounts whose password is published in the README: it runs only with "
            f"REFPORTAL_ENV=development (this is {current_app.config['ENV_NAME']}). Nothing was written."
        )
    with unit_of_work():
        logins = seed_demo_data()
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, role, note in logins:
        click.echo(f"  {email:<24} {role:<10} {note}")
