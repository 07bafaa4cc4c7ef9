from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.interfaces import ORMOption

from refportal.accounts.models import Role
from refportal.applications import services
from refportal.applications.categories import CATEGORIES, Credential, EducationLevel, MentorTrack
from refportal.applications.eligibility import evaluate_eligibility
from refportal.applications.fees import fee_breakdown
from refportal.applications.forms import ApplicationForm, EligibilityForm, SubmitApplicationForm, WithdrawForm
from refportal.applications.models import Application
from refportal.db import utc_today
from refportal.extensions import db
from refportal.references.models import Rating, Reference
from refportal.reviews.models import ReviewRound
from refportal.web import commit_service, flash_success, role_required, run_and_flash

bp = Blueprint("applications", __name__)


def owned_application(application_id: int, *options: ORMOption) -> Application:
    """The current applicant's own application, or 404 for anybody else's (`options`: what to load with it)."""
    application = db.session.get(Application, application_id, options=options)
    if application is None or application.applicant_id != current_user.id:
        abort(404)
    return application


# The application page in one statement: the membership, the references and of each rating whether it
# counts. What the referees wrote is never loaded for the applicant (reading it would raise).
APPLICATION_PAGE = (
    joinedload(Application.membership),
    joinedload(Application.references)
    .joinedload(Reference.rating)
    .load_only(Rating.counts, Rating.not_enough_information, raiseload=True),
    joinedload(Application.references).defer(Reference.draft, raiseload=True),
)


@bp.get("/dashboard")
@login_required
def dashboard():
    """The applicant's applications with their checklists (staff go to the review queue)."""
    if current_user.role is not Role.APPLICANT:
        return redirect(url_for("reviews.queue"))
    applications = (
        db.session.scalars(
            sa.select(Application)
            .where(Application.applicant_id == current_user.id)
            .options(  # one statement: an applicant has a few applications of a few references each
                joinedload(Application.membership),
                joinedload(Application.references).joinedload(Reference.rating),
            )
            .order_by(Application.created_at.desc())
        )
        .unique()
        .all()
    )
    today = utc_today()
    rows = []
    for application in applications:
        rows.append((application, services.file_completeness(application, today)))
    return render_template("applications/dashboard.html", rows=rows)


@bp.route("/applications/new", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def new_application():
    """Choose credential, category (and mentor track); the fees are shown before creating."""
    form = ApplicationForm()
    if form.validate_on_submit():
        done, application = commit_service(
            form,
            services.open_application,
            applicant=current_user,
            credential=Credential(form.credential.data),
            category=int(form.category.data),
            mentor_track=MentorTrack(form.mentor_track.data) if form.mentor_track.data else None,
        )
        if done and application is not None:
            flash_success("Your application is open. Next: record your eligibility and membership.")
            return redirect(url_for("applications.show", application_id=application.id))
    schedule = _fee_schedule_rows()
    return render_template("applications/new.html", form=form, fee_rows=schedule)


def _fee_schedule_rows():
    schedule = current_app.config["FEE_SCHEDULE"]
    return [
        (
            category,
            fee_breakdown(schedule=schedule, category=category, membership_fee_due=True),
            fee_breakdown(schedule=schedule, category=category, membership_fee_due=False),
        )
        for category in CATEGORIES
    ]


@bp.get("/applications/<int:application_id>")
@role_required(Role.APPLICANT)
def show(application_id: int):
    """One application: details, fees, eligibility, membership, references, checklist."""
    application = owned_application(application_id, *APPLICATION_PAGE)
    today = utc_today()
    return render_template(
        "applications/show.html",
        application=application,
        fees=services.fees_for(application, today),
        checks=evaluate_eligibility(application, _requirements()),
        completeness=services.file_completeness(application, today),
        membership_status=application.membership.status_on(today) if application.membership else None,
        withdraw_form=WithdrawForm(),
        review_round=db.session.get(ReviewRound, application.review_round_id) if application.review_round_id else None,
        renews_on=application.renews_on(current_app.config["ENDORSEMENT_RENEWAL_MONTHS"]),
    )


def _requirements():
    return current_app.config["ELIGIBILITY_REQUIREMENTS"]


@bp.route("/applications/<int:application_id>/eligibility", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def eligibility(application_id: int):
    """Record education, work experience, training and reflective supervision hours."""
    application = owned_application(application_id)
    form = EligibilityForm(obj=_eligibility_data(application))
    if form.validate_on_submit():
        done, _ = commit_service(
            form,
            services.record_eligibility,
            application=application,
            actor=current_user,
            education_level=EducationLevel(form.education_level.data),
            work_years=form.work_years.data,
            training_hours=form.training_hours.data,
            rsc_hours=form.rsc_hours.data,
            employer=form.employer.data or None,
        )
        if done:
            flash_success("Eligibility saved.")
            return redirect(url_for("applications.show", application_id=application.id))
    return render_template("applications/eligibility.html", application=application, form=form)


def _eligibility_data(application: Application) -> SimpleNamespace | None:
    recorded = application.recorded_eligibility
    if recorded is None:
        return None
    return SimpleNamespace(
        education_level=recorded.education_level.value,
        work_years=recorded.work_years,
        training_hours=recorded.training_hours,
        rsc_hours=recorded.rsc_hours,
        employer=application.employer or "",
    )


@bp.route("/applications/<int:application_id>/submit", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def submit(application_id: int):
    """Send the finished application for review, with the applicant's attestation."""
    application = owned_application(application_id)
    form = SubmitApplicationForm()
    if form.validate_on_submit():
        done, _ = commit_service(
            form, services.submit_application, application=application, actor=current_user, today=utc_today()
        )
        if done:
            flash_success("Your application is submitted for review. Its references can no longer be changed.")
            return redirect(url_for("applications.show", application_id=application.id))
    return render_template(
        "applications/submit.html",
        application=application,
        form=form,
        completeness=services.file_completeness(application, utc_today()),
    )


@bp.post("/applications/<int:application_id>/withdraw")
@role_required(Role.APPLICANT)
def withdraw(application_id: int):
    """Withdraw an open application (so another can be opened)."""
    application = owned_application(application_id)
    if not WithdrawForm().validate_on_submit():
        abort(400)
    run_and_flash(
        lambda: services.withdraw_application(application=application, actor=current_user),
        "The application is withdrawn.",
    )
    return redirect(url_for("applications.show", application_id=application.id))
