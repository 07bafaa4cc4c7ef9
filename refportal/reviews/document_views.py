"""Opening a document: only for those allowed (see document_access), only once scanned clean, every
opening on the audit trail."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from refportal.documents.models import Document
from refportal.documents.services import note_download
from refportal.documents.serving import document_response
from refportal.extensions import db
from refportal.reviews.document_access import may_read_document

bp = Blueprint("documents", __name__, url_prefix="/documents")


@bp.get("/<int:document_id>")
@login_required
def download(document_id: int) -> ResponseReturnValue:
    """The document as an attachment (`?inline=1`: a PDF or image shown in the browser, sandboxed)."""
    document = db.session.get(Document, document_id)
    if document is None or not may_read_document(document, current_user):
        abort(404)
    if not document.may_be_served:
        return render_template("documents/unavailable.html", document=document), (
            410 if document.is_quarantined else 409
        )
    inline = request.args.get("inline") == "1"
    note_download(document, current_user, inline=inline and document.shows_inline)
    return document_response(document, inline=inline)
