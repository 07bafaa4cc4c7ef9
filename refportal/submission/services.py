"""Submitting the application for review once its checklist is done; its fees and checklist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app

from refportal.accounts.models import User
from refportal.applications.evidence import store_totals
from refportal.applications.fees import (
    FeeBreakdown,
    application_account,
    fee_breakdown,
    fee_currency,
    fee_owed_before_requests,
)
from refportal.applications.lifecycle import Event, transition
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.exceptions import Refused
from refportal.membership.services import membership_fee_due
from refportal.payments.ledger import LedgerTotals, money, totals_of
from refportal.payments.models import FeeAccount
from refportal.submission.completeness import Completeness, completeness_of


def fees_for(application: Application, today: date) -> FeeBreakdown:
    """The fees of the schedule for this application (the reviewers' file shows them)."""
    config = current_app.config
    return fee_breakdown(
        schedule=config["FEE_SCHEDULE"],
        category=application.category,
        membership_fee_due=membership_fee_due(application, today),
        reinstatement_fee=int(config["ENDORSEMENT_REINSTATEMENT_FEE"]) if application.is_reinstatement else None,
    )


def fee_account(application: Application, today: date, actor: User | None = None) -> FeeAccount | None:
    """The application's ledger, its membership charge following the membership declared today."""
    return application_account(application, membership_fee_due=membership_fee_due(application, today), actor=actor)


@dataclass(frozen=True)
class FeesDue:
    """What the applicant's Fees section shows: the account (None: nothing recorded in the portal),
    its sums, and what is due before the referee requests go out."""

    account: FeeAccount | None
    totals: LedgerTotals
    before_requests: int  # cents still owed before the requests are sent (0: nothing due then)


def fees_due(application: Application, today: date, actor: User | None = None) -> FeesDue:
    account = fee_account(application, today, actor)
    if account is None:
        return FeesDue(None, LedgerTotals(), 0)
    before_requests = fee_owed_before_requests(application) if application.is_editable else 0
    return FeesDue(account, totals_of(account), before_requests)


def file_completeness(application: Application, today: date) -> Completeness:
    """The application's checklist: what is done, waiting for verification, or still to do (see
    refportal.submission.completeness, the rule the reviewers' file and queue read too)."""
    return completeness_of(application, today, current_app.config["ELIGIBILITY_REQUIREMENTS"])


def submit_application(*, application: Application, actor: User, today: date) -> None:
    """Send the application for review once nothing on the checklist is left to do; references lock."""
    if not application.is_editable:
        raise Refused("This application has been submitted already.")
    store_totals(application, today)  # the totals of its entries on the day it is submitted (the queue reads them)
    missing = file_completeness(application, today).missing
    if missing:
        raise Refused("Not ready to submit yet: " + "; ".join(f"{i.label.lower()} ({i.detail})" for i in missing) + ".")
    account = fee_account(application, today, actor)
    owed = totals_of(account).balance if account is not None else 0
    if owed > 0:
        raise Refused(
            f"The fees are not paid yet: {money(owed, fee_currency())} is still to pay. Pay it from the Fees "
            "section of the application page (or ask the association how else to pay), then submit."
        )
    transition(application, Event.SUBMIT, actor=actor)  # it joins its review round
    record(AuditAction.APPLICATION_SUBMITTED, obj=application, actor=actor, round=application.review_round_id)
