"""The ledger's sums for an application of every category and credential, paid, waived and refunded
through the staff services; the membership fee as the membership declared says; and two refunds of
one payment at once never giving back more than was paid (PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from refportal.applications.categories import Credential
from refportal.applications.fees import application_account
from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.payments import services
from refportal.payments.ledger import totals_of
from refportal.payments.models import FeeAccount, FeeKind, Payment, PaymentMethod, Refund, WaiverKind
from refportal.transactions import unit_of_work
from tests.factories import make_application, make_user
from tests.support import require, run_together

SCHEDULE = {1: (1500, 2500, 5000), 2: (2500, 5000, 5000), 3: (2500, 20000, 5000), 4: (2500, 30000, 5000)}


@pytest.mark.parametrize("credential", list(Credential))
@pytest.mark.parametrize("category", [1, 2, 3, 4])
def test_every_category_and_credential_sums_to_what_was_charged_paid_waived_and_refunded(app, category, credential):
    application_fee, processing_fee, membership_fee = SCHEDULE[category]
    with app.app_context():
        applicant = make_user(email="pat@example.org")
        application = make_application(applicant, credential=credential, category=category)
        account = application_account(application, membership_fee_due=True)
        assert account is not None
        charged = application_fee + processing_fee + membership_fee
        assert totals_of(account).charged == charged
        admin = make_user(email="admin@example.org")
        payment = services.record_staff_payment(
            account=account,
            method=PaymentMethod.BANK_TRANSFER,
            amount_cents=application_fee,
            received_on=utc_today(),
            reference="TRF 1",
            as_credit=False,
            today=utc_today(),
            actor=admin,
        )
        services.grant_waiver(
            account=account, kind=WaiverKind.WAIVER, amount_cents=1000, reason="Hardship", actor=admin
        )
        services.issue_refund(account=account, payment_id=payment.id, amount_cents=500, reason="Bank fee", actor=admin)
        db.session.commit()
        account = db.session.get(FeeAccount, account.id)
        db.session.refresh(account)
        totals = totals_of(account)
        assert (totals.charged, totals.paid, totals.waived, totals.refunded) == (charged, application_fee, 1000, 500)
        assert totals.balance == charged - application_fee - 1000 + 500
        with pytest.raises(Refused, match="At most the"):
            services.grant_waiver(
                account=account, kind=WaiverKind.WAIVER, amount_cents=totals.balance + 1, reason="x", actor=admin
            )


def kinds_owed(account: FeeAccount) -> set[FeeKind]:
    db.session.refresh(account)
    return {charge.kind for charge in account.charges if charge.is_owed}


def test_the_membership_fee_follows_the_membership_declared(app):
    with app.app_context():
        member = make_application(make_user(email="member@example.org"))
        account = application_account(member, membership_fee_due=False)
        assert account is not None and kinds_owed(account) == {FeeKind.APPLICATION, FeeKind.PROCESSING}

        other = make_application(make_user(email="other@example.org"))
        account = application_account(other, membership_fee_due=True)
        assert account is not None and FeeKind.MEMBERSHIP in kinds_owed(account)
        owed_before = totals_of(account).balance

        # Declared later, while nothing is paid and the application can still change: voided.
        account = application_account(db.session.get(Application, other.id), membership_fee_due=False)
        assert account is not None
        assert FeeKind.MEMBERSHIP not in kinds_owed(account)
        (voided,) = [c for c in account.charges if c.kind is FeeKind.MEMBERSHIP]
        assert voided.voided_at is not None
        assert totals_of(account).balance == owed_before - voided.amount_cents
        db.session.commit()


def test_two_refunds_of_one_payment_at_once_give_back_at_most_what_was_paid(app, postgres_schema):
    if postgres_schema is None:
        require("PostgreSQL", "two refunds racing need a database that several connections share")
    with app.app_context():
        admin = make_user(email="admin@example.org")
        application = make_application(make_user(email="pat@example.org"))
        account = application_account(application, membership_fee_due=False)
        assert account is not None
        payment = services.record_staff_payment(
            account=account,
            method=PaymentMethod.CHEQUE,
            amount_cents=2500,
            received_on=utc_today(),
            reference="Cheque 9",
            as_credit=False,
            today=utc_today(),
            actor=admin,
        )
        db.session.commit()
        account_id, payment_id, admin_id = account.id, payment.id, admin.id

    def refund_it():
        with app.app_context():
            try:
                with unit_of_work():
                    actor = db.session.get(type(admin), admin_id)
                    services.issue_refund(
                        account=db.session.get(FeeAccount, account_id),
                        payment_id=payment_id,
                        amount_cents=2000,
                        reason="Paid twice",
                        actor=actor,
                    )
                return "refunded"
            except Refused as refusal:
                return refusal.message

    for _ in range(3):  # the race, several times
        with app.app_context():
            db.session.execute(sa.delete(Refund))
            db.session.commit()
        outcomes = run_together(*[refund_it for _ in range(4)])
        assert outcomes.count("refunded") == 1, outcomes
        assert all(o == "refunded" or "At most $5.00 of payment" in str(o) for o in outcomes), outcomes
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.sum(Refund.amount_cents))) == 2000
            assert db.session.get(Payment, payment_id).refundable_cents == 500
