"""The fee ledger's charges and the gates that read it: the application fee before the referee requests
go out, every fee before an application or a renewal is submitted, the membership fee following the
membership declared, the late fee in the grace, a reinstatement's own fees, a schedule change that
never rewrites a posted charge, and two sessions opening one account (PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from refportal.applications.fees import application_account
from refportal.applications.models import Application
from refportal.config import DEFAULT_FEE_SCHEDULE, ConfigurationError, load_config
from refportal.db import utc_today
from refportal.endorsements import renewals
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.endorsements.models import Renewal, RenewalStatus
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.membership.services import membership_fee_due
from refportal.payments.ledger import totals_of
from refportal.payments.models import Charge, FeeAccount, FeeKind, Payment, PaymentMethod, Waiver, WaiverKind
from refportal.payments.services import record_payment
from refportal.references.models import Reference, ReferenceStatus
from refportal.submission.services import submit_application
from tests.builders import ask_three_referees, logged_in, rate, settle_renewal_fees
from tests.endorsements.staff_renewals import submitted_renewal
from tests.factories import (
    EndorsementFactory,
    declare_current_membership,
    make_application,
    make_user,
    record_eligibility,
)
from tests.references.helpers import nominate_three, send_requests
from tests.support import require, run_together

EMAIL = "pat@example.org"


def unpaid_application(app, *, category: int = 2, member: bool = True) -> int:
    """An eligible application with nothing paid (a current member unless `member` is False)."""
    with app.app_context():
        applicant = make_user(email=EMAIL, name="Pat Payer")
        application = make_application(applicant, category=category)
        record_eligibility(application)
        if member:
            declare_current_membership(application)
        db.session.commit()
        return application.id


def account_of(application_id: int) -> FeeAccount:
    application = db.session.get(Application, application_id)
    account = application_account(application, membership_fee_due=membership_fee_due(application, utc_today()))
    assert account is not None
    return account


def owed_kinds(account: FeeAccount) -> dict[FeeKind, int]:
    return {charge.kind: charge.amount_cents for charge in account.charges if charge.is_owed}


def pay(application_id: int, amount_cents: int) -> None:
    account = account_of(application_id)
    record_payment(
        account=account,
        method=PaymentMethod.CHEQUE,
        amount_cents=amount_cents,
        received_on=utc_today(),
        reference="Cheque 7",
    )
    db.session.commit()


@pytest.mark.parametrize(
    ("category", "application_fee", "processing_fee"),
    [(1, 1500, 2500), (2, 2500, 5000), (3, 2500, 20000), (4, 2500, 30000)],
)
def test_each_category_is_charged_its_fees_and_a_member_no_membership(app, category, application_fee, processing_fee):
    application_id = unpaid_application(app, category=category)
    with app.app_context():
        account = account_of(application_id)
        assert owed_kinds(account) == {FeeKind.APPLICATION: application_fee, FeeKind.PROCESSING: processing_fee}
        assert totals_of(account).balance == application_fee + processing_fee
        assert account.currency == "USD"


def test_the_membership_fee_follows_the_membership_declared(app):
    application_id = unpaid_application(app, member=False)
    with app.app_context():
        assert owed_kinds(account_of(application_id))[FeeKind.MEMBERSHIP] == 5000
        declare_current_membership(db.session.get(Application, application_id))
        account = account_of(application_id)
        assert FeeKind.MEMBERSHIP not in owed_kinds(account)
        [voided] = [charge for charge in account.charges if charge.kind is FeeKind.MEMBERSHIP]
        assert voided.voided_at is not None and totals_of(account).balance == 7500
        db.session.commit()


def test_the_requests_wait_for_the_application_fee(app, outbox):
    application_id = unpaid_application(app)
    browser = logged_in(app, EMAIL)
    nominate_three(browser, application_id)
    response = send_requests(browser, application_id, fee_paid=False)
    assert response.status_code in (200, 302)
    page = browser.get(f"/applications/{application_id}/references/").get_data(as_text=True)
    if response.status_code == 200:
        page = response.get_data(as_text=True)
    assert "The application fee is due before the requests are sent: $25.00 is still to pay" in page
    with app.app_context():
        statuses = db.session.scalars(sa.select(Reference.status)).all()
        assert set(statuses) == {ReferenceStatus.NOMINATED}
    assert not [m for m in outbox() if m.template == "reference_request"]

    with app.app_context():
        pay(application_id, 2500)
    assert send_requests(browser, application_id, fee_paid=False).status_code == 302
    with app.app_context():
        assert set(db.session.scalars(sa.select(Reference.status)).all()) == {ReferenceStatus.INVITED}
    assert len([m for m in outbox() if m.template == "reference_request"]) == 3
    [receipt] = [m for m in outbox(EMAIL) if m.template == "payment_receipt"]
    assert "$25.00" in receipt.body_text and "Cheque 7" in receipt.body_text


def test_with_the_fee_due_at_submission_the_requests_go_out_unpaid(make_app, outbox):
    app = make_app(FEE_APPLICATION_FEE_DUE="submission")
    application_id = unpaid_application(app)
    browser = logged_in(app, EMAIL)
    nominate_three(browser, application_id)
    assert send_requests(browser, application_id, fee_paid=False).status_code == 302
    assert len([m for m in outbox() if m.template == "reference_request"]) == 3


def test_an_application_is_not_submitted_while_a_fee_is_owed(app):
    application_id = unpaid_application(app)
    with app.app_context():
        pay(application_id, 2500)
        application = db.session.get(Application, application_id)
        rate(ask_three_referees(application))
        db.session.commit()
        with pytest.raises(Refused, match=r"The fees are not paid yet: \$50\.00 is still to pay"):
            submit_application(application=application, actor=application.applicant, today=utc_today())
        db.session.rollback()
        assert db.session.get(Application, application_id).is_editable
        pay(application_id, 5000)
        application = db.session.get(Application, application_id)
        submit_application(application=application, actor=application.applicant, today=utc_today())
        db.session.commit()
        assert not db.session.get(Application, application_id).is_editable


def test_the_application_page_shows_the_statement(app):
    application_id = unpaid_application(app)
    with app.app_context():
        pay(application_id, 2500)
    page = logged_in(app, EMAIL).get(f"/applications/{application_id}").get_data(as_text=True)
    fees = page[page.index('id="fees"') :]
    for text in ("Application fee", "Processing fee", "$25.00", "$50.00", "Payment (Cheque, Cheque 7)", "R-"):
        assert text in fees
    assert "Still to pay" in fees and "$50.00" in fees[fees.index("Still to pay") :]
    with app.app_context():
        payment_id = db.session.scalar(sa.select(Payment.id))
    assert f'href="/fees/receipts/{payment_id}"' in fees  # the printable receipt


def test_a_new_schedule_does_not_rewrite_a_posted_charge(app):
    application_id = unpaid_application(app)
    with app.app_context():
        before = owed_kinds(account_of(application_id))
        schedule = app.config["FEE_SCHEDULE"]
        app.config["FEE_SCHEDULE"] = {**schedule, "processing": {**schedule["processing"], 2: 999}}
        assert owed_kinds(account_of(application_id)) == before
        db.session.commit()


def test_a_reinstatement_owes_the_processing_and_reinstatement_fees(app):
    with app.app_context():
        holder = make_user(email=EMAIL, name="Pat Payer")
        endorsement = EndorsementFactory(holder=holder, status=EndorsementStatus.LAPSED)
        application = make_application(holder)
        application.reinstates_endorsement_id = endorsement.id
        declare_current_membership(application)
        db.session.commit()
        account = account_of(application.id)
        assert owed_kinds(account) == {FeeKind.REINSTATEMENT: 5000, FeeKind.PROCESSING: 5000}


def _renewal_ready_to_submit(app, *, ends_in_days: int, status: EndorsementStatus) -> int:
    """A draft renewal with every requirement met and nothing paid."""
    return submitted_renewal(
        app,
        email=EMAIL,
        period_ends_on=utc_today() + timedelta(days=ends_in_days),
        endorsement_status=status,
        status=RenewalStatus.DRAFT,
    )


def test_a_renewal_is_not_submitted_while_its_fees_are_owed(app):
    renewal_id = _renewal_ready_to_submit(app, ends_in_days=20, status=EndorsementStatus.RENEWAL_DUE)
    with app.app_context():
        renewal = db.session.get(Renewal, renewal_id)
        with pytest.raises(Refused, match=r"The renewal's fees are not paid yet: \$40\.00 is still to pay"):
            renewals.submit_renewal(renewal=renewal, actor=renewal.endorsement.holder, version=renewal.version)
        db.session.rollback()
        settle_renewal_fees(db.session.get(Renewal, renewal_id))
        renewal = db.session.get(Renewal, renewal_id)
        renewals.submit_renewal(renewal=renewal, actor=renewal.endorsement.holder, version=renewal.version)
        db.session.commit()
        assert db.session.get(Renewal, renewal_id).status is RenewalStatus.SUBMITTED


def test_the_late_fee_is_charged_in_the_grace(app):
    renewal_id = _renewal_ready_to_submit(app, ends_in_days=-3, status=EndorsementStatus.GRACE)
    with app.app_context():
        account = renewals.renewal_account(db.session.get(Renewal, renewal_id))
        assert owed_kinds(account) == {FeeKind.RENEWAL: 4000, FeeKind.LATE: 3500}
        db.session.commit()


def test_a_fee_of_nothing_is_not_charged(make_app):
    app = make_app(ENDORSEMENT_RENEWAL_FEE=0)
    renewal_id = _renewal_ready_to_submit(app, ends_in_days=20, status=EndorsementStatus.RENEWAL_DUE)
    with app.app_context():
        account = renewals.renewal_account(db.session.get(Renewal, renewal_id))
        assert account.charges == [] and totals_of(account).balance == 0
        db.session.commit()


def test_two_sessions_at_once_open_one_account_and_post_each_fee_once(make_app, postgres_schema):
    if postgres_schema is None:
        require("PostgreSQL", "two sessions opening one account need a database that several connections share")
    app = make_app()
    application_id = unpaid_application(app, member=False)

    def open_in_own_session():
        with app.app_context(), app.test_request_context():
            try:
                account_id = account_of(application_id).id
                db.session.commit()
                return account_id
            finally:
                db.session.remove()

    ids = run_together(*[open_in_own_session for _ in range(4)])
    assert all(isinstance(found, int) for found in ids), ids
    assert len(set(ids)) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(FeeAccount.id))) == 1
        kinds = db.session.scalars(sa.select(Charge.kind)).all()
        assert sorted(kinds) == sorted([FeeKind.APPLICATION, FeeKind.PROCESSING, FeeKind.MEMBERSHIP])
        assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0


def test_a_fee_with_cents_is_charged_to_the_cent(make_app):
    schedule = dict(DEFAULT_FEE_SCHEDULE)
    app = make_app(FEE_SCHEDULE={**schedule, "processing": {**schedule["processing"], 2: 19.99}})
    application_id = unpaid_application(app)
    with app.app_context():
        assert owed_kinds(account_of(application_id))[FeeKind.PROCESSING] == 1999
        db.session.commit()


@pytest.mark.parametrize("bad", ["abc", -5, 1.234, None])
def test_a_fee_that_is_not_an_amount_stops_the_portal_at_start_up(make_app, bad):
    schedule = dict(DEFAULT_FEE_SCHEDULE)
    with pytest.raises(ConfigurationError, match="FEE_SCHEDULE_JSON processing 2"):
        make_app(FEE_SCHEDULE={**schedule, "processing": {**schedule["processing"], 2: bad}})
    with pytest.raises(ConfigurationError, match="ENDORSEMENT_RENEWAL_LATE_FEE"):
        make_app(ENDORSEMENT_RENEWAL_LATE_FEE=-35)


@pytest.mark.parametrize("seconds", ["0", "-1", "3601"])
def test_the_webhooks_replay_window_cannot_be_turned_off(monkeypatch, seconds):
    monkeypatch.setenv("STRIPE_WEBHOOK_TOLERANCE", seconds)
    with pytest.raises(ConfigurationError, match="STRIPE_WEBHOOK_TOLERANCE must be between 1 and 3600"):
        load_config({"SECRET_KEY": "x" * 40})


def test_the_payer_sees_a_waiver_but_not_staffs_reason_for_it(app):
    application_id = unpaid_application(app)
    with app.app_context():
        account = account_of(application_id)
        db.session.add(Waiver(account=account, kind=WaiverKind.SCHOLARSHIP, amount_cents=2500, reason="Hardship note"))
        db.session.commit()
    page = logged_in(app, EMAIL).get(f"/applications/{application_id}").get_data(as_text=True)
    fees = page[page.index('id="fees"') :]
    assert "Scholarship" in fees and "-$25.00" in fees
    assert "Hardship" not in page
