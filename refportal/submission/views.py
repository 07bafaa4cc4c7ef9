"""The applicant's pages of the whole file: the dashboard, the application page with its checklist,
and submitting it for review."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.applications.eligibility import evaluate_eligibility
from refportal.applications.evidence import load_entries
from refportal.applications.models import Application
from refportal.applications.verdicts import requested_items
from refportal.applications.views import owned_application
from refportal.db import utc_today
from refportal.endorsements.models import Endorsement
from refportal.endorsements.renewal_notices import cycle_dates
from refportal.endorsements.services import endorsements_held_by
from refportal.extensions import db
from refportal.forms import ActionForm
from refportal.payments.views import payment_offer
from refportal.references.models import Rating, Reference
from refportal.submission import services
from refportal.submission.forms import SubmitApplicationForm
from refportal.web import attempt_on_form, flash_success

bp = Blueprint("submission", __name__)


# The application page in one statement: the membership, the references and of each rating whether it
# counts, and its portfolio (its evidence entries: four more, load_entries). What the referees wrote is never
# loaded for the applicant (reading it would raise).
APPLICATION_PAGE = (
    joinedload(Application.portfolio),
    joinedload(Application.membership),
    joinedload(Application.review_round),
    joinedload(Application.references)
    .joinedload(Reference.rating)
    .load_only(Rating.counts, Rating.not_enough_information, raiseload=True),
    joinedload(Application.references).defer(Reference.draft, raiseload=True),
)


@functools.cache
def _applications_of_applicant() -> sa.Select:
    """The dashboard's one statement (an applicant has a few applications of a few references each), and
    four for the evidence entries of all of them (load_entries); built once: a request only binds the applicant."""
    return (
        sa.select(Application)
        .where(Application.applicant_id == sa.bindparam("applicant_id"))
        .options(
            joinedload(Application.membership),
            joinedload(Application.references).joinedload(Reference.rating),
            joinedload(Application.portfolio),
        )
        .order_by(Application.created_at.desc())
    )


@bp.get("/dashboard")
@login_required
def dashboard():
    """The applicant's applications with their checklists (staff go to the review queue)."""
    if current_user.role is not Role.APPLICANT:
        return redirect(url_for("reviews.queue"))
    applications = db.session.scalars(_applications_of_applicant(), {"applicant_id": current_user.id}).unique().all()
    load_entries(applications)
    today = utc_today()
    rows = []
    for application in applications:
        rows.append((application, services.file_completeness(application, today)))
    endorsements = [(endorsement, cycle_dates(endorsement)) for endorsement in endorsements_held_by(current_user)]
    return render_template("submission/dashboard.html", rows=rows, endorsements=endorsements)


@bp.get("/applications/<int:application_id>")
@role_required(Role.APPLICANT)
def application_page(application_id: int):
    """One application: details, fees, eligibility, membership, references, checklist."""
    application = owned_application(application_id, *APPLICATION_PAGE)
    load_entries([application])
    today = utc_today()
    fees = services.fees_due(application, today, current_user)
    return render_template(
        "submission/application.html",
        application=application,
        fees=fees,
        checks=evaluate_eligibility(application, _requirements()),
        completeness=services.file_completeness(application, today),
        membership_status=application.membership.status_on(today) if application.membership else None,
        withdraw_form=ActionForm(),
        pay=payment_offer(fees.account) if application.is_editable else None,
        requested_items=requested_items(application),  # only each requirement and its reason
        renews_on=application.renews_on(current_app.config["ENDORSEMENT_RENEWAL_MONTHS"]),
        reinstates=(
            db.session.get(Endorsement, application.reinstates_endorsement_id) if application.is_reinstatement else None
        ),
    )


def _requirements():
    return current_app.config["ELIGIBILITY_REQUIREMENTS"]


@bp.route("/applications/<int:application_id>/submit", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def submit(application_id: int):
    """Send the finished application for review, with the applicant's attestation."""
    application = owned_application(application_id)
    form = SubmitApplicationForm()
    if form.validate_on_submit():
        done, _ = attempt_on_form(
            form, services.submit_application, application=application, actor=current_user, today=utc_today()
        )
        if done:
            flash_success("Your application is submitted for review. Its references can no longer be changed.")
            return redirect(url_for("submission.application_page", application_id=application.id))
    return render_template(
        "submission/submit.html",
        application=application,
        form=form,
        completeness=services.file_completeness(application, utc_today()),
        checks=evaluate_eligibility(application, _requirements()),
    )
