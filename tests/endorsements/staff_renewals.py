"""Submitted renewals for the staff renewal tests (the endorsee's side is not needed to build them)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from refportal.accounts.models import Role
from refportal.config import RENEWAL_ATTESTATIONS
from refportal.db import utc_today, utcnow
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.endorsements.models import RenewalStatus
from refportal.extensions import db
from refportal.membership.models import Association
from tests.factories import EndorsementFactory, RenewalFactory, RscEntryFactory, TrainingEntryFactory, make_user

ADMIN = "admin@example.org"


def make_admin(app) -> None:
    with app.app_context():
        make_user(email=ADMIN, name="Alex Admin", role=Role.ADMIN)


def submitted_renewal(
    app,
    *,
    name: str = "Rita Renewal",
    email: str = "rita@example.org",
    period_ends_on: date | None = None,
    endorsement_status: EndorsementStatus = EndorsementStatus.RENEWAL_DUE,
    training_hours: int = 15,
    member_number: str | None = "IO-100",
    membership_expires_on: date | None = None,
    status: RenewalStatus = RenewalStatus.SUBMITTED,
    submitted_days_ago: int = 1,
    late: bool = False,
) -> int:
    """An endorsement (category 2) and its renewal, every requirement met unless told; returns the renewal's id."""
    ends = period_ends_on or utc_today() + timedelta(days=20)
    with app.app_context():
        holder = make_user(email=email, name=name)
        endorsement = EndorsementFactory(
            holder=holder,
            status=endorsement_status,
            issued_on=ends - timedelta(days=365),
            period_starts_on=ends - timedelta(days=365),
            period_ends_on=ends,
        )
        renewal = RenewalFactory(
            endorsement=endorsement,
            status=status,
            submitted_at=utcnow() - timedelta(days=submitted_days_ago) if status is not RenewalStatus.DRAFT else None,
            late=late,
            association=Association.INFANCY_ONWARD,
            member_number=member_number,
            membership_expires_on=membership_expires_on or ends + timedelta(days=400),
            attestations=list(RENEWAL_ATTESTATIONS),
            attested_at=utcnow(),
        )
        if training_hours:
            TrainingEntryFactory(portfolio=renewal.portfolio, hours=Decimal(training_hours))
        RscEntryFactory(portfolio=renewal.portfolio, hours=Decimal(12))
        db.session.commit()
        return renewal.id
