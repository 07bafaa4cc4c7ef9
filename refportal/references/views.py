"""The applicant's references: nominate, send requests, follow status, remind, correct, replace."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.applications.categories import Credential
from refportal.applications.views import owned_application
from refportal.exceptions import Refused
from refportal.extensions import db
from refportal.forms import ActionForm
from refportal.references import nomination, reminders, reuse
from refportal.references.delivery import delivery_news
from refportal.references.forms import CorrectEmailForm, NominationForm
from refportal.references.links import link_deadline
from refportal.references.models import Reference
from refportal.references.rating_form import DOMAINS, item_text
from refportal.references.roles import RefereeRole, lacks_endorsed_referee, rule_for
from refportal.security.headers import mark_no_store
from refportal.web import attempt_and_flash, attempt_on_form, flash_success

bp = Blueprint("references", __name__, url_prefix="/applications/<int:application_id>/references")


def owned_reference(application_id: int, reference_id: int) -> Reference:
    application = owned_application(application_id)
    reference = db.session.get(Reference, reference_id)
    if reference is None or reference.application_id != application.id:
        abort(404)
    return reference


def _nomination_form(application) -> NominationForm:
    form = NominationForm()
    form.set_roles(rule_for(application.category, application.mentor_track).offered)
    return form


def _nomination_arguments(form: NominationForm) -> dict:
    return dict(
        name=form.name.data,
        email=form.email.data,
        organisation=form.organisation.data,
        role=RefereeRole(form.role.data),
        setting=form.setting.data,
        known_years=form.known_years.data,
        endorsed_credential=Credential(form.endorsed_credential.data) if form.endorsed_credential.data else None,
        endorsed_category=int(form.endorsed_category.data) if form.endorsed_category.data else None,
        waived=form.waived.data == "yes",
        language=form.language.data,
    )


@bp.route("/", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def index(application_id: int):
    """The three references with their status, and the form to nominate the next referee."""
    application = owned_application(application_id)
    form = _nomination_form(application)
    if form.validate_on_submit():
        done, _ = attempt_on_form(
            form,
            nomination.nominate_referee,
            application=application,
            actor=current_user,
            **_nomination_arguments(form),
        )
        if done:
            flash_success(f"{form.name.data} is nominated.")
            return redirect(url_for("references.index", application_id=application.id))
    rule = rule_for(application.category, application.mentor_track)
    active = nomination.active_references(application)
    return mark_no_store(
        _page(
            "references/index.html",
            application=application,
            form=form,
            rule=rule,
            active=active,
            action_form=ActionForm(),
            delivery=delivery_news(active),
            lacks_endorsed=lacks_endorsed_referee(application.category, [bool(r.endorsed_credential) for r in active]),
            history=[r for r in application.references if r.has_ended],
            reusable=reuse.reusable_ratings(application) if application.is_editable and len(active) < 3 else [],
            rating_valid_until=reuse.valid_until,
        )
    )


@bp.post("/reuse/<int:source_id>")
@role_required(Role.APPLICANT)
def request_reuse(application_id: int, source_id: int):
    """Ask the referee of one's earlier application to let their rating stand for this one."""
    application = owned_application(application_id)
    source = reuse.applicants_reference(application, source_id)
    if source is None:
        abort(404)
    return _button(
        lambda: reuse.request_reuse(application=application, source=source, actor=current_user),
        f"{source.name} is asked to confirm their earlier rating for this application.",
        application.id,
    )


@bp.post("/send")
@role_required(Role.APPLICANT)
def send_requests(application_id: int):
    """E-mail every nominated referee their link."""
    application = owned_application(application_id)
    return _button(
        lambda: nomination.send_requests(application=application, actor=current_user),
        "The requests are sent.",
        application.id,
    )


@bp.get("/<int:reference_id>")
@role_required(Role.APPLICANT)
def show(application_id: int, reference_id: int):
    """One reference: its status and dates; its content only where the right to see it was not waived."""
    reference = owned_reference(application_id, reference_id)
    rating = reference.rating if reference.applicant_may_read_content else None
    return mark_no_store(
        _page(
            "references/show.html",
            reference=reference,
            rating=rating,
            action_form=ActionForm(),
            domains=DOMAINS,
            item_text=item_text,
            deadline=_deadline(reference),
        )
    )


@bp.post("/<int:reference_id>/remind")
@role_required(Role.APPLICANT)
def remind(application_id: int, reference_id: int):
    """Re-send the referee's link now."""
    reference = owned_reference(application_id, reference_id)
    return _button(
        lambda: reminders.remind_referee(reference=reference, actor=current_user),
        f"A reminder is on its way to {reference.name}.",
        application_id,
    )


@bp.post("/<int:reference_id>/remove")
@role_required(Role.APPLICANT)
def remove(application_id: int, reference_id: int):
    """Take back a nomination that was not sent yet."""
    reference = owned_reference(application_id, reference_id)
    return _button(
        lambda: nomination.remove_nomination(reference=reference, actor=current_user),
        "The nomination is removed.",
        application_id,
    )


@bp.route("/<int:reference_id>/email", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def correct_email(application_id: int, reference_id: int):
    """Correct the referee's e-mail address (the old link stops working)."""
    reference = owned_reference(application_id, reference_id)
    form = CorrectEmailForm()
    if form.validate_on_submit():
        done, _ = attempt_on_form(
            form, nomination.correct_email, reference=reference, actor=current_user, email=form.email.data
        )
        if done:
            flash_success("The address is corrected.")
            return redirect(url_for("references.index", application_id=application_id))
    return _page("references/correct_email.html", reference=reference, form=form)


@bp.route("/<int:reference_id>/replace", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def replace(application_id: int, reference_id: int):
    """Nominate someone else in this referee's place (the old link stops working)."""
    reference = owned_reference(application_id, reference_id)
    application = reference.application
    try:
        nomination.check_replaceable(reference)
    except Refused as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("references.index", application_id=application_id))
    form = _nomination_form(application)
    if form.validate_on_submit():
        done, _ = attempt_on_form(
            form,
            nomination.nominate_referee,
            application=application,
            actor=current_user,
            replaces=reference,
            **_nomination_arguments(form),
        )
        if done:
            flash_success(f"{form.name.data} replaces {reference.name}.")
            return redirect(url_for("references.index", application_id=application_id))
    return _page("references/replace.html", reference=reference, form=form)


def _button(action, success: str, application_id: int):
    """Run a one-button action: commit and confirm, or show why not."""
    if not ActionForm().validate_on_submit():
        abort(400)
    attempt_and_flash(action, success)
    return redirect(url_for("references.index", application_id=application_id))


def _deadline(reference: Reference):
    return link_deadline(reference) if reference.link_issued_at else None


def _page(template: str, **context):
    return make_response(render_template(template, **context))
