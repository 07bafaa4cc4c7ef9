"""/admin/documents: the documents that need staff's eye — quarantined ones (with what the virus scan
found) and those still waiting for their scan after LONG_PENDING — with a rescan for a pending one (made
due now for the worker). Administrators only."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.db import utcnow
from refportal.documents.forms import SCAN_WORDS
from refportal.documents.models import Document
from refportal.documents.services import LONG_PENDING, needing_attention, request_rescan, uploaders_of
from refportal.extensions import db
from refportal.forms import ActionForm
from refportal.security.headers import mark_no_store
from refportal.web import attempt_and_flash

bp = Blueprint("document_admin", __name__, url_prefix="/admin/documents")


@bp.after_request
def _private(response: Response) -> Response:
    return mark_no_store(response)


@bp.get("/")
@role_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    listed, recent = needing_attention()
    return render_template(
        "documents/admin.html",
        documents=listed,
        recent_pending=recent,
        long_pending_minutes=int(LONG_PENDING.total_seconds() // 60),
        uploaders=uploaders_of(listed),
        scan_words=SCAN_WORDS,
        now=utcnow(),
        action_form=ActionForm(),
    )


@bp.post("/<int:document_id>/rescan")
@role_required(Role.ADMIN)
def rescan(document_id: int) -> ResponseReturnValue:
    """Make a pending document due now: the worker scans it on its next pass."""
    document = db.session.get(Document, document_id)
    if document is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    attempt_and_flash(
        lambda: request_rescan(document, actor=current_user),
        f"{document.filename} is queued for a scan now: the worker scans it on its next pass.",
    )
    return redirect(url_for(".index"))
