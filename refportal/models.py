"""Imports every model so the metadata is complete (for create_all, Alembic and the tests)."""

from refportal.accounts.models import Role, User  # noqa: F401
from refportal.api.models import ApiKey, IdempotentRequest, WebhookDelivery, WebhookEndpoint  # noqa: F401
from refportal.applications.models import Application  # noqa: F401
from refportal.applications.verdicts import RequirementVerdict  # noqa: F401
from refportal.audit.models import AuditEvent  # noqa: F401
from refportal.documents.models import Document, DocumentBlob  # noqa: F401
from refportal.endorsements.models import (  # noqa: F401
    Endorsement,
    EndorsementChange,
    EndorsementNotice,
    RegistryListing,
    Renewal,
)
from refportal.mail.models import OutboxEmail, OutboxStatus  # noqa: F401
from refportal.membership.models import MembershipDeclaration, MembershipStatus  # noqa: F401
from refportal.payments.models import (  # noqa: F401
    Charge,
    CheckoutSession,
    FeeAccount,
    Payment,
    Refund,
    StripeEvent,
    Waiver,
)
from refportal.portfolio.models import Portfolio, RscEntry, TrainingEntry  # noqa: F401
from refportal.references.models import Rating, RefereePageAccess, Reference, ReferenceStatus  # noqa: F401
from refportal.reviews.models import (  # noqa: F401
    Decision,
    Recusal,
    Review,
    ReviewAssignment,
    ReviewFileProgress,
    ReviewRound,
    ReviewVersion,
    RoundTally,
)
from refportal.worker.models import ScheduledJob  # noqa: F401
