"""Pages that take a document accept a request as large as DOCUMENT_MAX_BYTES (plus the form around
it); every other page keeps MAX_CONTENT_LENGTH. The limit is set before anything reads the body (the
CSRF check included), so a larger request is answered 413 with a page that names the limit, without
being read. A body within the limit is spooled to a temporary file by the form parser, never held in
memory whole."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request

from refportal.documents.services import megabytes

F = TypeVar("F", bound=Callable[..., Any])

# Room for the rest of the form (the rating's answers, a purpose) beside the file.
FORM_ALLOWANCE = 256 * 1024


def accepts_document(view: F) -> F:
    """Mark a view as one that takes a document upload (its request limit is the document's)."""
    view.accepts_document = True  # type: ignore[attr-defined]
    return view


def install_upload_limits(app: Flask) -> None:
    def _limit_uploads() -> None:
        view = app.view_functions.get(request.endpoint or "")
        if view is not None and getattr(view, "accepts_document", False):
            limit = current_app.config["DOCUMENT_MAX_BYTES"]
            request.max_content_length = limit + FORM_ALLOWANCE
            g.too_large_message = (
                f"The file is larger than the portal accepts ({megabytes(limit)} at most). Nothing was saved. "
                "Go back, scan the document at a lower resolution or as a PDF, and upload it again."
            )

    # First of all the request's hooks: the CSRF check reads the body.
    app.before_request_funcs.setdefault(None, []).insert(0, _limit_uploads)
