"""The applicant's documents page: upload (transcript, certificate, RSC verification, résumé), the list
with each document's scan, download links for the clean ones, and removal while the application is
editable. Only the applicant: anyone else is told the page does not exist."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.applications import documents
from refportal.applications.views import owned_application
from refportal.documents.forms import ACCEPTED_FILES, SCAN_WORDS, DocumentUploadForm
from refportal.documents.models import Document, DocumentPurpose
from refportal.documents.services import documents_of, megabytes, uploaders_of
from refportal.documents.uploads import accepts_document
from refportal.extensions import db
from refportal.forms import ActionForm
from refportal.security.headers import mark_no_store
from refportal.web import attempt_and_flash, attempt_on_form, flash_success

bp = Blueprint("application_documents", __name__, url_prefix="/applications/<int:application_id>/documents")


@bp.after_request
def _private(response: Response) -> Response:
    return mark_no_store(response)


@bp.route("", methods=["GET", "POST"])
@accepts_document
@role_required(Role.APPLICANT)
def index(application_id: int) -> ResponseReturnValue:
    """The application's documents, and the upload form while the application is editable."""
    application = owned_application(application_id)
    form = DocumentUploadForm()
    status = 200
    if request.method == "POST":
        if form.validate():
            upload = form.document.data
            done, document = attempt_on_form(
                form,
                documents.add_document,
                application=application,
                purpose=DocumentPurpose(form.purpose.data),
                upload=upload,
                actor=current_user,
            )
            if done and document is not None:
                flash_success(
                    f"{document.filename} is kept"
                    + (": it is ready." if document.may_be_served else ": it is being scanned for viruses.")
                )
                return redirect(url_for(".index", application_id=application.id))
        if not application.is_editable:
            status = 409
    kept = documents_of(application.id)
    return render_template(
        "applications/documents.html",
        application=application,
        form=form,
        documents=kept,
        uploaders=uploaders_of(kept),
        scan_words=SCAN_WORDS,
        accepted_files=ACCEPTED_FILES,
        limit=megabytes(current_app.config["DOCUMENT_MAX_BYTES"]),
        count_limit=current_app.config["DOCUMENT_MAX_PER_APPLICATION"],
        always_open=lambda document: True,  # the applicant's own portfolio documents (document_access)
        removal_refusal=lambda document: documents.removal_refusal(application, document, current_user),
        action_form=ActionForm(),
    ), status


@bp.post("/<int:document_id>/remove")
@role_required(Role.APPLICANT)
def remove(application_id: int, document_id: int) -> ResponseReturnValue:
    """Remove one of the applicant's own portfolio documents (while the application is editable)."""
    application = owned_application(application_id)
    document = db.session.get(Document, document_id)
    if document is None or document.application_id != application.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    name = document.filename
    attempt_and_flash(
        lambda: documents.remove_document(application=application, document=document, actor=current_user),
        f"{name} is removed.",
    )
    return redirect(url_for(".index", application_id=application.id))
