"""Fuller states of an application, built in-process through the portal's own services: three
referees nominated and asked, their ratings, the file submitted. One place for "nominate three,
send, rate"; the shared fixtures in tests/conftest.py are built on these. A plain module (not a
conftest, not a test module): tests and conftest.py files import from here.

Every builder runs inside an app context and flushes; the caller commits when a request must see
the rows (or uses a make_* helper or fixture that does)."""

from __future__ import annotations

from decimal import Decimal

from refportal.accounts.models import User
from refportal.applications.fees import application_account, fee_owed_before_requests
from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.endorsements.models import Renewal
from refportal.endorsements.renewals import renewal_account
from refportal.extensions import db
from refportal.membership.services import membership_fee_due
from refportal.payments.ledger import totals_of
from refportal.payments.models import FeeAccount, Waiver, WaiverKind
from refportal.references.answers import submit_rating
from refportal.references.models import Reference
from refportal.references.nomination import nominate_referee, send_requests
from refportal.references.rating_form import ITEM_KEYS
from refportal.references.roles import RefereeRole
from refportal.submission.services import submit_application
from tests.factories import (
    commit_and_reload,
    declare_current_membership,
    make_application,
    make_user,
    record_eligibility,
)
from tests.web import Browser

# The three referees of every in-process file: a supervisor, an RSC provider, a colleague.
REFEREES = [
    ("Hana Ito", "hana@example.net", RefereeRole.SUPERVISOR),
    ("Omar Haddad", "omar@example.net", RefereeRole.RSC_PROVIDER),
    ("Lena Berg", "lena@example.net", RefereeRole.COLLEAGUE),
]


def rating_answers(name: str, score: str = "4", **items) -> dict:
    """A complete rating as the rating service takes it: every item `score` unless named in `items`."""
    return {
        "items": {**{key: score for key in ITEM_KEYS}, **items},
        "recommendation": "recommend",
        "strengths": f"Strengths by {name}",
        "growth": f"Growth by {name}",
        "for_reviewers": "",
        "relationship_role": "Supervisor",
        "relationship_setting": "Program",
        "relationship_years": "3",
        "referee_role": "supervisor",
        "endorsement": "none",
        "attestation_name": name,
        "attest": True,
    }


def ready_application(applicant: User, *, category: int = 2, settled: bool = True) -> Application:
    """An eligible IMH-E application of `applicant` with a declared membership and (unless `settled` is
    False) its fees settled: everything but the references (committed)."""
    application = make_application(applicant, category=category)
    record_eligibility(application)
    declare_current_membership(application)
    if settled:
        settle_fees(application)
    return application


def settle_renewal_fees(renewal: Renewal) -> None:
    """What the renewal owes now settled by a waiver (as settle_fees; committed)."""
    account = renewal_account(renewal)
    assert account is not None, "only a renewal that can still change owes new fees"
    _settle(account)


def settle_fees(application: Application, *, only_what_the_requests_need: bool = False) -> None:
    """What the application owes now (application and processing fees; the membership fee unless a
    current membership is declared), or only the fee due before the referee requests, settled by a
    waiver, so the fee gates let it through without a payment's receipt e-mail (committed). Tests of
    the fees themselves pay for real (tests/payments/)."""
    account = application_account(application, membership_fee_due=membership_fee_due(application, utc_today()))
    assert account is not None, "only an application that can still change owes new fees"
    _settle(account, fee_owed_before_requests(application) if only_what_the_requests_need else None)


def _settle(account: FeeAccount, owed: int | None = None) -> None:
    owed = totals_of(account).balance if owed is None else owed
    if owed > 0:
        db.session.add(
            Waiver(account=account, kind=WaiverKind.WAIVER, amount_cents=owed, reason="Settled for the test")
        )
    commit_and_reload()


def ask_three_referees(
    application: Application, *, email_prefix: str = "", referees: list[tuple[str, str, RefereeRole]] = REFEREES
) -> list[Reference]:
    """Three referees (REFEREES unless given as (name, e-mail, role)) nominated, content waived, and
    asked: each has a link (the application fee settled first if it is not paid, as sending needs)."""
    settle_fees(application, only_what_the_requests_need=True)
    references = [
        nominate_referee(
            application=application,
            actor=application.applicant,
            name=name,
            email=email_prefix + email,
            organisation="Org",
            role=role,
            setting="Program",
            known_years=Decimal(3),
            waived=True,
            endorsed_credential=None,
            endorsed_category=None,
        )
        for name, email, role in referees
    ]
    send_requests(application=application, actor=application.applicant)
    return references


def rate(references: list[Reference], scores: tuple[str, ...] = ("4", "4", "4")) -> None:
    """The first len(scores) referees submit a counted rating, every item at their score."""
    for reference, score in zip(references, scores, strict=False):
        submit_rating(reference=reference, nonce=reference.link_nonce, answers=rating_answers(reference.name, score))


def with_ratings(application: Application, counted: int = 3) -> None:
    """Three referees nominated and asked; `counted` of them have submitted a rating that counts
    (committed)."""
    references = ask_three_referees(application)
    rate(references[:counted])
    db.session.commit()


def make_submitted_application(applicant: User, *, scores=("5", "4", "3"), email_prefix="") -> Application:
    """A category 2 IMH-E application with three counted ratings, submitted for review (committed)."""
    application = ready_application(applicant)
    rate(ask_three_referees(application, email_prefix=email_prefix), scores)
    submit_application(application=application, actor=applicant, today=utc_today())
    db.session.commit()
    return application


def ready_applicant(app) -> tuple[Browser, Application]:
    """A logged-in applicant (their Browser) with an eligible category 2 IMH-E application and a
    declared membership: everything but the references."""
    with app.app_context():
        user = make_user(email="applicant@example.org", name="Avery Applicant")
        application = ready_application(user)
    browser = Browser(app.test_client())
    browser.login("applicant@example.org")
    return browser, application


def logged_in(app, email: str) -> Browser:
    """A new client of `app`, logged in as `email` (the default password)."""
    browser = Browser(app.test_client())
    browser.login(email)
    return browser
