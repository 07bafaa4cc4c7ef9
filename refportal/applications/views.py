from __future__ import annotations

import functools
from types import SimpleNamespace

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.orm.interfaces import ORMOption

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.applications import evidence as evidence_service
from refportal.applications import services
from refportal.applications.categories import CATEGORIES, Credential, EducationLevel, MentorTrack
from refportal.applications.eligibility import evaluate_eligibility, is_eligible
from refportal.applications.fees import fee_breakdown
from refportal.applications.forms import ApplicationForm, EducationEntryForm, EligibilityForm
from refportal.applications.models import Application
from refportal.extensions import db
from refportal.forms import ActionForm
from refportal.portfolio.forms import RscEntryForm, TrainingEntryForm, WorkEntryForm
from refportal.portfolio.models import RscFormat
from refportal.web import attempt_and_flash, attempt_on_form, flash_success

bp = Blueprint("applications", __name__)


@functools.lru_cache(maxsize=8)
def _application_with(options: tuple[ORMOption, ...]) -> sa.Select:
    """One application with what `options` load, built once per tuple of options."""
    return sa.select(Application).where(Application.id == sa.bindparam("application_id")).options(*options)


def owned_application(application_id: int, *options: ORMOption) -> Application:
    """The current applicant's own application, or 404 for anybody else's (`options`: what to load with it;
    a tuple kept at module level, so that its statement is built once)."""
    if options:
        statement = _application_with(options)
        application = db.session.scalars(statement, {"application_id": application_id}).unique().one_or_none()
    else:
        application = db.session.get(Application, application_id)
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
    """Record education, work experience, training and reflective supervision hours as totals: for an
    application opened before evidence entries (any other goes to its evidence page)."""
    application = owned_application(application_id)
    if application.from_entries:
        return redirect(url_for("applications.evidence", application_id=application.id))
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


# ---------------------------------------------------------------------------------------------
# The evidence page: the application's entries, their forms and the live checklist

ENTRY_FORMS = {
    "education": EducationEntryForm,
    "work": WorkEntryForm,
    "training": TrainingEntryForm,
    "rsc": RscEntryForm,
}


def _entry_forms(**given) -> dict:
    return {kind: given.get(kind) or form_class(prefix=kind) for kind, form_class in ENTRY_FORMS.items()}


def _evidence_application(application_id: int) -> Application:
    """The applicant's own application (404 for anybody else's). One from before entries shows its
    self-reported totals there and takes no entries (the service refuses them)."""
    return owned_application(application_id)


def _render_evidence(application: Application, forms: dict):
    evidence = evidence_service.evidence_of(application)
    checks = evaluate_eligibility(application, _requirements(), evidence=evidence)
    return render_template(
        "applications/evidence.html",
        application=application,
        evidence=evidence,
        checks=checks,
        eligible=is_eligible(checks),
        forms=forms,
        remove_form=ActionForm(),
    )


@bp.get("/applications/<int:application_id>/evidence")
@role_required(Role.APPLICANT)
def evidence(application_id: int):
    """The application's evidence: education, work, training and RSC entries, with the live checklist."""
    return _render_evidence(_evidence_application(application_id), _entry_forms())


def _add(application: Application, kind: str, form, service, **arguments):
    """Add an entry from a valid form (the service refuses what breaks a rule: shown on the form)."""
    if form.validate_on_submit():
        done, _ = attempt_on_form(form, service, application=application, actor=current_user, **arguments)
        if done:
            flash_success("The entry is added.")
            return redirect(url_for("applications.evidence", application_id=application.id) + f"#{kind}")
    return _render_evidence(application, _entry_forms(**{kind: form}))


@bp.post("/applications/<int:application_id>/evidence/education")
@role_required(Role.APPLICANT)
def add_education(application_id: int):
    application = _evidence_application(application_id)
    form = EducationEntryForm(prefix="education")
    return _add(
        application,
        "education",
        form,
        evidence_service.add_education,
        level=form.level.data or "",
        field_of_study=form.field_of_study.data or "",
        institution=form.institution.data or "",
        year_completed=form.year_completed.data,
    )


@bp.post("/applications/<int:application_id>/evidence/work")
@role_required(Role.APPLICANT)
def add_work(application_id: int):
    application = _evidence_application(application_id)
    form = WorkEntryForm(prefix="work")
    return _add(
        application,
        "work",
        form,
        evidence_service.add_work,
        employer=form.employer.data or "",
        role=form.role.data or "",
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        hours_per_week=form.hours_per_week.data,
        serves_0_3=bool(form.serves_0_3.data),
        serves_3_6=bool(form.serves_3_6.data),
        description=form.description.data or None,
    )


@bp.post("/applications/<int:application_id>/evidence/training")
@role_required(Role.APPLICANT)
def add_training(application_id: int):
    application = _evidence_application(application_id)
    form = TrainingEntryForm(prefix="training")
    return _add(
        application,
        "training",
        form,
        evidence_service.add_training,
        title=form.title.data or "",
        provider=form.provider.data or "",
        taken_on=form.taken_on.data,
        hours=form.hours.data,
        about_rsc=bool(form.about_rsc.data),
        about_dei=bool(form.about_dei.data),
    )


@bp.post("/applications/<int:application_id>/evidence/rsc")
@role_required(Role.APPLICANT)
def add_rsc(application_id: int):
    application = _evidence_application(application_id)
    form = RscEntryForm(prefix="rsc")
    return _add(
        application,
        "rsc",
        form,
        evidence_service.add_rsc,
        provider=form.provider.data or "",
        provider_credential=form.provider_credential.data or None,
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        hours=form.hours.data,
        format=RscFormat(form.format.data) if form.format.data in {f.value for f in RscFormat} else None,
    )


@bp.post("/applications/<int:application_id>/evidence/<kind>/<int:entry_id>/remove")
@role_required(Role.APPLICANT)
def remove_entry(application_id: int, kind: str, entry_id: int):
    """Remove one of the application's entries (another application's is refused: nothing changes)."""
    application = _evidence_application(application_id)
    if kind not in ENTRY_FORMS:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    attempt_and_flash(
        lambda: evidence_service.remove(application=application, actor=current_user, kind=kind, entry_id=entry_id),
        "The entry is removed.",
    )
    return redirect(url_for("applications.evidence", application_id=application.id) + f"#{kind}")
