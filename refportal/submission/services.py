"""Submitting the application for review once its checklist is done; its fees and checklist."""

from __future__ import annotations

from datetime import date

from flask import current_app

from refportal.accounts.models import User
from refportal.applications.evidence import store_totals
from refportal.applications.fees import FeeBreakdown, fee_breakdown
from refportal.applications.lifecycle import Event, transition
from refportal.applications.models import Application
from refportal.audit.actions import AuditAction
from refportal.audit.services import record
from refportal.exceptions import Refused
from refportal.membership.services import membership_fee_due
from refportal.submission.completeness import Completeness, completeness_of


def fees_for(application: Application, today: date) -> FeeBreakdown:
    return fee_breakdown(
        schedule=current_app.config["FEE_SCHEDULE"],
        category=application.category,
        membership_fee_due=membership_fee_due(application, today),
    )


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
    transition(application, Event.SUBMIT, actor=actor)  # it joins its review round
    record(AuditAction.APPLICATION_SUBMITTED, obj=application, actor=actor, round=application.review_round_id)
