"""Test data in one place: a factory_boy factory for every model, and the committing helpers.

- **Factories** (`UserFactory(...)`, `ApplicationFactory(...)`, ...) add their row to the app's
  session and *flush* it: the row has its id and is visible to services called in-process, and
  nothing is committed. Use them inside an app context when the test then calls services directly.
- **make_* helpers** build with the same factories and then *commit* (and reload what the session
  holds), for tests whose later requests through the test client must see the rows. Committing in
  test setup is allowed: refportal.transactions refuses a stray commit only while a view or a unit
  of work runs.

tests/core/test_suite_hygiene.py checks that every model has a factory here.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory

from refportal.accounts.models import Role, User
from refportal.api.models import ApiKey, IdempotentRequest, Scope, WebhookDelivery, WebhookEndpoint
from refportal.applications.categories import Credential, EducationLevel, MentorTrack
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.models import Application, EligibilitySource
from refportal.applications.verdicts import Requirement, RequirementVerdict, Verdict
from refportal.audit.actions import AuditAction
from refportal.audit.models import AuditEvent
from refportal.db import utc_today, utcnow
from refportal.documents.models import Document, DocumentBlob, DocumentPurpose
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.endorsements.models import (
    Endorsement,
    EndorsementChange,
    EndorsementNotice,
    RegistryListing,
    RegistryNameTail,
    Renewal,
    RenewalStatus,
)
from refportal.extensions import db
from refportal.mail.models import OutboxEmail
from refportal.membership.models import Association, MembershipDeclaration, MembershipKind
from refportal.payments.models import (
    Charge,
    CheckoutSession,
    CheckoutStatus,
    FeeAccount,
    FeeKind,
    Payment,
    PaymentMethod,
    Refund,
    StripeEvent,
    Waiver,
    WaiverKind,
)
from refportal.portfolio.models import EducationEntry, Portfolio, RscEntry, RscFormat, TrainingEntry, WorkEntry
from refportal.references.models import Rating, RefereePageAccess, Reference
from refportal.references.rating_form import FORM_VERSION, ITEM_KEYS, Recommendation
from refportal.references.roles import RefereeRole
from refportal.reviews.models import (
    Decision,
    Recusal,
    Review,
    ReviewAssignment,
    ReviewFileProgress,
    ReviewRound,
    ReviewVersion,
    RoundTally,
)
from refportal.security.passwords import hash_password
from refportal.worker.models import ScheduledJob

DEFAULT_PASSWORD = "correct horse battery staple"


class ModelFactory(SQLAlchemyModelFactory):
    """Rows in the current app context's session (Flask-SQLAlchemy's scoped session), flushed."""

    class Meta:
        abstract = True
        sqlalchemy_session = db.session
        sqlalchemy_session_persistence = "flush"


# ------------------------------------------------------------------------------------------------
# Accounts and applications


class UserFactory(ModelFactory):
    class Meta:
        model = User

    class Params:
        password = DEFAULT_PASSWORD
        verified = True

    email = factory.Sequence(lambda n: f"person{n + 1}@example.org")
    name = factory.Sequence(lambda n: f"Person {n + 1}")
    role = Role.APPLICANT
    password_hash = factory.LazyAttribute(lambda o: hash_password(o.password))
    email_verified_at = factory.LazyAttribute(lambda o: utcnow() if o.verified else None)
    language = "en"


class ApplicationFactory(ModelFactory):
    """A draft category 2 IMH-E application (record_eligibility() adds the eligibility answers)."""

    class Meta:
        model = Application

    applicant = factory.SubFactory(UserFactory)
    credential = Credential.IMH_E
    category = 2
    mentor_track = None
    status = ApplicationStatus.DRAFT
    decided_at = None


class MembershipDeclarationFactory(ModelFactory):
    """A declared current membership of INfancy Onward, valid for 200 more days."""

    class Meta:
        model = MembershipDeclaration

    application = factory.SubFactory(ApplicationFactory)
    kind = MembershipKind.CURRENT_MEMBER
    association = Association.INFANCY_ONWARD
    member_number = "IO-1"
    expires_on = factory.LazyFunction(lambda: utc_today() + timedelta(days=200))


# ------------------------------------------------------------------------------------------------
# References


class ReferenceFactory(ModelFactory):
    """A nominated referee (not yet asked: no link); the services send and rate."""

    class Meta:
        model = Reference

    application = factory.SubFactory(ApplicationFactory)
    name = factory.Sequence(lambda n: f"Referee {n + 1}")
    email = factory.Sequence(lambda n: f"referee{n + 1}@example.net")
    organisation = "Org"
    role = RefereeRole.SUPERVISOR
    setting = "Program"
    known_years = Decimal(3)
    waived = True
    endorsed_credential = None
    endorsed_category = None


class RatingFactory(ModelFactory):
    """A counted rating: every item 4, recommended."""

    class Meta:
        model = Rating

    reference = factory.SubFactory(ReferenceFactory)
    form_version = FORM_VERSION
    answers = factory.LazyFunction(lambda: {key: "4" for key in ITEM_KEYS})
    not_enough_information = 0
    counts = True
    recommendation = Recommendation.RECOMMEND
    strengths = "Warm, attuned, steady under pressure."
    growth = "Could document visits sooner."
    relationship_role = "Supervisor"
    relationship_setting = "Program"
    relationship_years = Decimal(3)
    referee_role = RefereeRole.SUPERVISOR
    attestation_name = factory.SelfAttribute("reference.name")


class RefereePageAccessFactory(ModelFactory):
    class Meta:
        model = RefereePageAccess

    email = factory.Sequence(lambda n: f"referee{n + 1}@example.net")


# ------------------------------------------------------------------------------------------------
# Reviews


class ReviewRoundFactory(ModelFactory):
    """A round open from today, submissions for 30 days, reviews due 30 days later."""

    class Meta:
        model = ReviewRound

    name = factory.Sequence(lambda n: f"Round {n + 1}")
    opens_on = factory.LazyFunction(utc_today)
    submission_deadline = factory.LazyAttribute(lambda o: o.opens_on + timedelta(days=30))
    review_due = factory.LazyAttribute(lambda o: o.submission_deadline + timedelta(days=30))


class ReviewFileProgressFactory(ModelFactory):
    """A file's stored place in its round, as refportal.reviews.progress writes it (no assignment yet)."""

    class Meta:
        model = ReviewFileProgress

    class Params:
        review_round = factory.SubFactory(ReviewRoundFactory)
        application = factory.SubFactory(ApplicationFactory)

    application_id = factory.SelfAttribute("application.id")
    round_id = factory.SelfAttribute("review_round.id")
    assignments = 0
    reviews = 0
    decided = False


class RoundTallyFactory(ModelFactory):
    """A round's count of its files with no reviewer, no review and no decision."""

    class Meta:
        model = RoundTally

    class Params:
        review_round = factory.SubFactory(ReviewRoundFactory)

    round_id = factory.SelfAttribute("review_round.id")
    assignments = 0
    reviews = 0
    decided = False
    files = 1


class ReviewAssignmentFactory(ModelFactory):
    class Meta:
        model = ReviewAssignment

    class Params:
        application = factory.SubFactory(ApplicationFactory)

    application_id = factory.SelfAttribute("application.id")
    reviewer = factory.SubFactory(UserFactory, role=Role.REVIEWER)


class RecusalFactory(ModelFactory):
    class Meta:
        model = Recusal

    class Params:
        application = factory.SubFactory(ApplicationFactory)

    application_id = factory.SelfAttribute("application.id")
    reviewer = factory.SubFactory(UserFactory, role=Role.REVIEWER)
    reason = "Supervised the applicant"


class ReviewFactory(ModelFactory):
    class Meta:
        model = Review

    class Params:
        application = factory.SubFactory(ApplicationFactory)

    application_id = factory.SelfAttribute("application.id")
    reviewer = factory.SubFactory(UserFactory, role=Role.REVIEWER)
    cycle = 1
    outcome = Decision.ENDORSE


class ReviewVersionFactory(ModelFactory):
    class Meta:
        model = ReviewVersion

    class Params:
        review = factory.SubFactory(ReviewFactory)

    review_id = factory.SelfAttribute("review.id")
    outcome = factory.SelfAttribute("review.outcome")
    recorded_at = factory.LazyFunction(utcnow)


class RequirementVerdictFactory(ModelFactory):
    class Meta:
        model = RequirementVerdict

    class Params:
        application = factory.SubFactory(ApplicationFactory)

    application_id = factory.SelfAttribute("application.id")
    requirement = Requirement.EDUCATION
    version = factory.Sequence(lambda n: n + 1)
    cycle = 1
    verdict = Verdict.VERIFIED
    reason = ""
    reviewer = factory.SubFactory(UserFactory, role=Role.REVIEWER)


# ------------------------------------------------------------------------------------------------
# Mail, audit, worker, API


class OutboxEmailFactory(ModelFactory):
    class Meta:
        model = OutboxEmail

    template = "test_message"
    to_address = factory.Sequence(lambda n: f"recipient{n + 1}@example.net")
    subject = "A message from the portal"
    body_text = "Hello."
    body_html = "<p>Hello.</p>"


class AuditEventFactory(ModelFactory):
    class Meta:
        model = AuditEvent

    action = AuditAction.APPLICATION_OPENED
    object_type = "application"
    object_id = 1
    details = factory.LazyFunction(dict)


class ScheduledJobFactory(ModelFactory):
    class Meta:
        model = ScheduledJob

    name = factory.Sequence(lambda n: f"job_{n + 1}")
    next_run_at = factory.LazyFunction(utcnow)


class ApiKeyFactory(ModelFactory):
    """A key row (its secret is not kept: use refportal.api.keys.create_key for a usable key)."""

    class Meta:
        model = ApiKey

    name = factory.Sequence(lambda n: f"Key {n + 1}")
    prefix = factory.Sequence(lambda n: f"rp_{n + 1:08d}")
    key_hash = factory.Sequence(lambda n: hashlib.sha256(f"key {n}".encode()).hexdigest())
    scopes = factory.LazyFunction(lambda: [Scope.READ_APPLICATIONS.value])


class IdempotentRequestFactory(ModelFactory):
    class Meta:
        model = IdempotentRequest

    class Params:
        api_key = factory.SubFactory(ApiKeyFactory)

    api_key_id = factory.SelfAttribute("api_key.id")
    idempotency_key = factory.LazyFunction(lambda: str(uuid.uuid4()))
    request_hash = factory.Sequence(lambda n: hashlib.sha256(f"request {n}".encode()).hexdigest())
    status = 200
    response = factory.LazyFunction(dict)


class WebhookEndpointFactory(ModelFactory):
    class Meta:
        model = WebhookEndpoint

    url = factory.Sequence(lambda n: f"https://hooks{n + 1}.example.net/refportal")
    secret = factory.Sequence(lambda n: hashlib.sha256(f"secret {n}".encode()).hexdigest())


class WebhookDeliveryFactory(ModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    event_type = AuditAction.APPLICATION_SUBMITTED.value
    payload = factory.LazyFunction(dict)


# ------------------------------------------------------------------------------------------------
# Endorsements and the registry


class EndorsementFactory(ModelFactory):
    """An endorsement in force for a year, not tied to an application unless one is given."""

    class Meta:
        model = Endorsement

    holder = factory.SubFactory(UserFactory)
    number = factory.Sequence(lambda n: f"IMH-T{n + 1:07d}")
    credential = Credential.IMH_E
    category = 2
    issued_on = factory.LazyFunction(utc_today)
    period_starts_on = factory.LazyFunction(utc_today)
    period_ends_on = factory.LazyFunction(lambda: utc_today() + timedelta(days=365))


class EndorsementChangeFactory(ModelFactory):
    class Meta:
        model = EndorsementChange

    endorsement = factory.SubFactory(EndorsementFactory)
    status = EndorsementStatus.ACTIVE
    event = "issue"


class EndorsementNoticeFactory(ModelFactory):
    class Meta:
        model = EndorsementNotice

    class Params:
        endorsement = factory.SubFactory(EndorsementFactory)

    endorsement_id = factory.SelfAttribute("endorsement.id")
    period_ends_on = factory.SelfAttribute("endorsement.period_ends_on")
    kind = "renewal_open"
    sent_on = factory.LazyFunction(utc_today)


class RegistryNameTailFactory(ModelFactory):
    """A name tail beside an endorsement's own (which the mapper events write: see test_registry_name_tails.py)."""

    class Meta:
        model = RegistryNameTail

    class Params:
        endorsement = factory.SubFactory(EndorsementFactory)

    endorsement_id = factory.SelfAttribute("endorsement.id")
    holder_id = factory.SelfAttribute("endorsement.holder_id")
    position = 9
    tail = "extra"
    name = factory.SelfAttribute("endorsement.holder.name")
    number = factory.SelfAttribute("endorsement.number")
    credential = factory.SelfAttribute("endorsement.credential")
    category = factory.SelfAttribute("endorsement.category")


class RegistryListingFactory(ModelFactory):
    class Meta:
        model = RegistryListing

    class Params:
        holder = factory.SubFactory(UserFactory)

    holder_id = factory.SelfAttribute("holder.id")
    listed = True


# ------------------------------------------------------------------------------------------------
# Documents (a row only: store_document, or make_scanned_document, keeps real bytes in a backend)


class DocumentFactory(ModelFactory):
    class Meta:
        model = Document

    class Params:
        application = factory.SubFactory(ApplicationFactory)

    application_id = factory.SelfAttribute("application.id")
    purpose = DocumentPurpose.TRANSCRIPT
    filename = "transcript.pdf"
    content_type = "application/pdf"
    size = 4
    sha256 = factory.Sequence(lambda n: hashlib.sha256(f"document {n}".encode()).hexdigest())
    storage = "database"
    storage_key = factory.Sequence(lambda n: f"test/{n + 1}")


class DocumentBlobFactory(ModelFactory):
    class Meta:
        model = DocumentBlob

    key = factory.Sequence(lambda n: f"test/{n + 1}")
    data = b"%PDF"


# ------------------------------------------------------------------------------------------------
# Committing helpers: for tests whose requests must see the rows


def commit_and_reload() -> None:
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
    given = {key: value for key, value in (("email", email), ("name", name)) if value}
    user = UserFactory(role=role, verified=verified, password=password, **given)
    commit_and_reload()
    return user


def make_application(
    applicant: User,
    *,
    credential: Credential = Credential.IMH_E,
    category: int = 2,
    mentor_track: MentorTrack | None = None,
    status: ApplicationStatus = ApplicationStatus.DRAFT,
    decided_at: datetime | None = None,
    eligibility_source: EligibilitySource = EligibilitySource.ENTRIES,
) -> Application:
    """`eligibility_source`: SELF_REPORTED for an application from before evidence entries."""
    application = ApplicationFactory(
        applicant=applicant,
        credential=credential,
        category=category,
        mentor_track=mentor_track,
        status=status,
        decided_at=decided_at,
        eligibility_source=eligibility_source,
    )
    commit_and_reload()
    return application


def record_eligibility(
    application: Application,
    *,
    education: EducationLevel = EducationLevel.BACHELOR,
    work_years: str = "3",
    training_hours: int = 40,
    rsc_hours: int = 30,
) -> Application:
    """Totals as the applicant typed them (an application from before evidence entries: self-reported)."""
    application.eligibility_source = EligibilitySource.SELF_REPORTED
    application.education_level = education
    application.work_years = Decimal(work_years)
    application.training_hours = training_hours
    application.rsc_hours = rsc_hours
    application.eligibility_recorded_at = utcnow()
    commit_and_reload()
    return application


def declare_current_membership(application: Application, *, expires_on: date | None = None) -> MembershipDeclaration:
    declaration = MembershipDeclarationFactory(
        application=application, expires_on=expires_on or utc_today() + timedelta(days=200)
    )
    commit_and_reload()
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


# ------------------------------------------------------------------------------------------------
# Renewals and their portfolios


class PortfolioFactory(ModelFactory):
    class Meta:
        model = Portfolio


class TrainingEntryFactory(ModelFactory):
    """Three hours of training last month."""

    class Meta:
        model = TrainingEntry

    portfolio = factory.SubFactory(PortfolioFactory)
    title = factory.Sequence(lambda n: f"Reflective practice workshop {n + 1}")
    provider = "Regional infant mental health association"
    taken_on = factory.LazyFunction(lambda: utc_today() - timedelta(days=30))
    hours = Decimal("3")


class RscEntryFactory(ModelFactory):
    """Six hours of individual RSC over the last three months."""

    class Meta:
        model = RscEntry

    portfolio = factory.SubFactory(PortfolioFactory)
    provider = "Morgan Reyes"
    provider_credential = "IMH-E Mentor–Clinical"
    starts_on = factory.LazyFunction(lambda: utc_today() - timedelta(days=90))
    ends_on = factory.LazyFunction(lambda: utc_today() - timedelta(days=1))
    hours = Decimal("6")
    format = RscFormat.INDIVIDUAL


class EducationEntryFactory(ModelFactory):
    """A master's degree completed five years ago."""

    class Meta:
        model = EducationEntry

    portfolio = factory.SubFactory(PortfolioFactory)
    level = EducationLevel.MASTER.value
    field_of_study = "Social work"
    institution = "State University"
    year_completed = factory.LazyFunction(lambda: utc_today().year - 5)


class WorkEntryFactory(ModelFactory):
    """Full-time, ongoing work with children from birth to three for the last three years."""

    class Meta:
        model = WorkEntry

    portfolio = factory.SubFactory(PortfolioFactory)
    employer = "Family Start Center"
    role = "Home visitor"
    starts_on = factory.LazyFunction(lambda: utc_today() - timedelta(days=3 * 366))
    ends_on = None
    hours_per_week = 40
    serves_0_3 = True
    serves_3_6 = False
    description = None


class RenewalFactory(ModelFactory):
    """A draft renewal of an endorsement due for renewal, with an empty portfolio."""

    class Meta:
        model = Renewal

    endorsement = factory.SubFactory(
        EndorsementFactory,
        status=EndorsementStatus.RENEWAL_DUE,
        issued_on=factory.LazyFunction(lambda: utc_today() - timedelta(days=330)),
        period_starts_on=factory.LazyFunction(lambda: utc_today() - timedelta(days=330)),
        period_ends_on=factory.LazyFunction(lambda: utc_today() + timedelta(days=35)),
    )
    period_ends_on = factory.SelfAttribute("endorsement.period_ends_on")
    portfolio = factory.SubFactory(PortfolioFactory)
    status = RenewalStatus.DRAFT
    attestations = factory.LazyFunction(list)


# ------------------------------------------------------------------------------------------------
# The fee ledger


class FeeAccountFactory(ModelFactory):
    """The fee account of a draft application (no charge until one is built)."""

    class Meta:
        model = FeeAccount

    class Params:
        application = factory.SubFactory(ApplicationFactory)

    application_id = factory.SelfAttribute("application.id")
    payer = factory.SelfAttribute("application.applicant")
    label = factory.LazyAttribute(lambda o: f"Application {o.application.id}: IMH-E, category 2")
    currency = "USD"


class ChargeFactory(ModelFactory):
    class Meta:
        model = Charge

    account = factory.SubFactory(FeeAccountFactory)
    kind = FeeKind.APPLICATION
    amount_cents = 2500


class CheckoutSessionFactory(ModelFactory):
    class Meta:
        model = CheckoutSession

    account = factory.SubFactory(FeeAccountFactory)
    stripe_session_id = factory.Sequence(lambda n: f"cs_test_{n + 1:08d}")
    url = factory.LazyAttribute(lambda o: f"https://checkout.stripe.com/c/pay/{o.stripe_session_id}")
    amount_cents = 2500
    currency = "USD"
    status = CheckoutStatus.OPEN


class PaymentFactory(ModelFactory):
    """A cheque received today."""

    class Meta:
        model = Payment

    account = factory.SubFactory(FeeAccountFactory)
    method = PaymentMethod.CHEQUE
    amount_cents = 2500
    currency = factory.SelfAttribute("account.currency")
    received_on = factory.LazyFunction(utc_today)
    reference = factory.Sequence(lambda n: f"CHQ-{n + 1:05d}")


class WaiverFactory(ModelFactory):
    class Meta:
        model = Waiver

    account = factory.SubFactory(FeeAccountFactory)
    kind = WaiverKind.WAIVER
    amount_cents = 2500
    reason = "Hardship"


class RefundFactory(ModelFactory):
    class Meta:
        model = Refund

    payment = factory.SubFactory(PaymentFactory)
    amount_cents = 1000
    reason = "Paid twice"


class StripeEventFactory(ModelFactory):
    class Meta:
        model = StripeEvent

    event_id = factory.Sequence(lambda n: f"evt_test_{n + 1:08d}")
    type = "checkout.session.completed"
    outcome = "recorded"
