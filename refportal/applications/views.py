from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.orm.interfaces import ORMOption

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.applications import services
from refportal.applications.categories import CATEGORIES, Credential, EducationLevel, MentorTrack
from refportal.applications.fees import fee_breakdown
from refportal.applications.forms import ApplicationForm, EligibilityForm
from refportal.applications.models import Application
from refportal.extensions import db
from refportal.forms import ActionForm
from refportal.web import attempt_and_flash, attempt_on_form, flash_success

bp = Blueprint("applications", __name__)


def owned_application(application_id: int, *options: ORMOption) -> Application:
    """The current applicant's own application, or 404 for anybody else's (`options`: what to load with it)."""
    application = db.session.get(Application, application_id, options=options)
    if application is None or application.applicant_id != current_user.id:
        abort(404)
    return application


@bp.route("/applications/new", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def new_application():
    """Choose credential, category (and mentor track); the fees are shown before creating."""
    form = ApplicationForm()
    if form.validate_on_submit():
        done, application = attempt_on_form(
            form,
            services.open_application,
            applicant=current_user,
            credential=Credential(form.credential.data),
            category=int(form.category.data),
            mentor_track=MentorTrack(form.mentor_track.data) if form.mentor_track.data else None,
        )
        if done and application is not None:
            flash_success("Your application is open. Next: record your eligibility and membership.")
            return redirect(url_for("submission.application_page", application_id=application.id))
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


def _requirements():
    return current_app.config["ELIGIBILITY_REQUIREMENTS"]


@bp.route("/applications/<int:application_id>/eligibility", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def eligibility(application_id: int):
    """Record education, work experience, training and reflective supervision hours."""
    application = owned_application(application_id)
    form = EligibilityForm(obj=_eligibility_data(application))
    if form.validate_on_submit():
        done, _ = attempt_on_form(
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
            return redirect(url_for("submission.application_page", application_id=application.id))
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


@bp.post("/applications/<int:application_id>/withdraw")
@role_required(Role.APPLICANT)
def withdraw(application_id: int):
    """Withdraw an open application (so another can be opened)."""
    application = owned_application(application_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    attempt_and_flash(
        lambda: services.withdraw_application(application=application, actor=current_user),
        "The application is withdrawn.",
    )
    return redirect(url_for("submission.application_page", application_id=application.id))
