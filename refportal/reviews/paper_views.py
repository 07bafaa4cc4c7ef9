"""Staff enter a referee's rating from the paper or PDF form the referee signed (a way round a blocked
inbox): the referee's rating form, plus the signed form to upload; submitted through the references'
own rules (refportal.references.paper)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from refportal.accounts.permissions import role_required
from refportal.documents.uploads import accepts_document
from refportal.extensions import db
from refportal.references.answers import rating_problems
from refportal.references.competencies import competencies_html
from refportal.references.forms import answers_from_form
from refportal.references.models import Reference
from refportal.references.paper import enter_paper_rating, refusal_for
from refportal.references.paper_forms import ACCEPTED_FILES, PAPER_RATING_FORMS
from refportal.reviews import conflicts
from refportal.reviews.views import STAFF
from refportal.security.headers import mark_no_store
from refportal.transactions import attempt
from refportal.web import flash_success, show_refusal

bp = Blueprint("paper_rating", __name__, url_prefix="/review")


@bp.after_request
def _private(response: Response) -> Response:
    return mark_no_store(response)


def _reference_or_404(application_id: int, reference_id: int) -> Reference:
    """The reference, if this staff member may open its file and has no conflict of interest with it."""
    reference = db.session.get(Reference, reference_id)
    if reference is None or reference.application_id != application_id:
        abort(404)
    application = reference.application
    if not conflicts.may_open_file(application, current_user) or conflicts.conflicts_with(application, current_user):
        abort(404)
    return reference


@bp.route("/applications/<int:application_id>/references/<int:reference_id>/paper", methods=["GET", "POST"])
@accepts_document
@role_required(*STAFF)
def enter(application_id: int, reference_id: int) -> ResponseReturnValue:
    """The referee's rating form and the signed form's upload; submitting enters the rating."""
    reference = _reference_or_404(application_id, reference_id)
    form = PAPER_RATING_FORMS[reference.application.credential]()
    refusal = refusal_for(reference)
    if request.method == "POST" and refusal is None and form.validate():
        answers = answers_from_form(form)
        for name, message in rating_problems(answers).items():
            getattr(form, name).errors = [*getattr(form, name).errors, message]
        if any(field.errors for field in form):
            form.form_errors.append("Some answers are missing: they are marked below. Nothing was entered.")
        else:
            signed_form = form.signed_form.data
            outcome = attempt(
                lambda: enter_paper_rating(
                    reference=reference, answers=answers, signed_form=signed_form, actor=current_user
                )
            )
            if outcome.done:
                flash_success(f"{reference.name}'s rating is entered, marked as entered by staff.")
                return redirect(url_for("reviews.application_file", application_id=application_id))
            show_refusal(form, outcome.refusal)  # type: ignore[arg-type]
            refusal = refusal_for(reference)
    status = 409 if request.method == "POST" and refusal is not None else 200
    return render_template(
        "reviews/paper_rating.html",
        reference=reference,
        application=reference.application,
        form=form,
        refusal=refusal,
        accepted_files=ACCEPTED_FILES,
        competencies_html=competencies_html(form, reference.application.credential),
    ), status
