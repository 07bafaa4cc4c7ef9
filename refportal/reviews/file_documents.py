"""The file's documents for staff: the file page's Documents section (grouped by purpose, each with its
scan; only a clean one opens, and only for those document_access lets in), and the administrators' page
that adds a document on the applicant's behalf (the same store, recorded as uploaded by them)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from refportal.accounts.models import Role, User
from refportal.accounts.permissions import role_required
from refportal.applications import documents
from refportal.applications.models import Application
from refportal.documents.forms import ACCEPTED_FILES, SCAN_WORDS, DocumentUploadForm
from refportal.documents.models import Document, DocumentPurpose
from refportal.documents.services import PORTFOLIO_PURPOSES, documents_with_uploaders, megabytes
from refportal.documents.uploads import accepts_document
from refportal.extensions import db
from refportal.reviews.document_access import may_read_document
from refportal.security.headers import mark_no_store
from refportal.web import attempt_on_form, flash_success

bp = Blueprint("file_documents", __name__, url_prefix="/review")


@bp.after_request
def _private(response: Response) -> Response:
    return mark_no_store(response)


@dataclass
class FileDocuments:
    """What the file page's Documents section shows."""

    groups: list[tuple[DocumentPurpose, list[Document]]]
    uploaders: dict[int, User]
    openable: set[int]  # the ids of the documents this reader may open (clean or not)
    scan_words: dict

    def may_open(self, document: Document) -> bool:
        return document.id in self.openable


def file_documents(application: Application, reader: User, *, may_read: bool | None = None) -> FileDocuments:
    """`may_read`: whether the reader may read the file's documents, where the caller knows it already (the
    file page: it opened the file for them and found their conflicts); else asked (may_read_document)."""
    kept, uploaders = documents_with_uploaders(application.id)
    # For portfolio documents the answer depends on the application and the reader only: asked once.
    if may_read is None:
        may_read = bool(kept) and may_read_document(kept[0], reader)
    openable = {document.id for document in kept} if may_read else set()
    groups = [(purpose, [d for d in kept if d.purpose is purpose]) for purpose in PORTFOLIO_PURPOSES]
    return FileDocuments(
        groups=[(purpose, found) for purpose, found in groups if found],
        uploaders=uploaders,
        openable=openable,
        scan_words=SCAN_WORDS,
    )


@bp.app_template_global("file_documents")
def _file_documents_for_page(application: Application, unconflicted: bool) -> FileDocuments:
    """For the file page's template (reviews/file.html): the documents as the signed-in reader sees them. The
    page is drawn for a reader who may open the file: they read its documents unless they have a conflict
    (document_access.may_read_document's rule, with the conflicts the page found already)."""
    return file_documents(application, current_user, may_read=unconflicted)


@bp.route("/applications/<int:application_id>/documents", methods=["GET", "POST"])
@accepts_document
@role_required(Role.ADMIN)
def upload(application_id: int) -> ResponseReturnValue:
    """An administrator adds a document to the application on the applicant's behalf."""
    application = db.session.get(Application, application_id)
    if application is None:
        abort(404)
    form = DocumentUploadForm()
    if request.method == "POST" and form.validate():
        done, document = attempt_on_form(
            form,
            documents.add_document_for_applicant,
            application=application,
            purpose=DocumentPurpose(form.purpose.data),
            upload=form.document.data,
            actor=current_user,
        )
        if done and document is not None:
            flash_success(
                f"{document.filename} is added to {application.applicant.name}'s documents, as uploaded by you"
                + (": it is ready." if document.may_be_served else ": it is being scanned for viruses.")
            )
            return redirect(url_for("reviews.application_file", application_id=application.id))
    return render_template(
        "reviews/file_documents.html",
        application=application,
        form=form,
        shown=file_documents(application, current_user),
        accepted_files=ACCEPTED_FILES,
        limit=megabytes(current_app.config["DOCUMENT_MAX_BYTES"]),
    )
