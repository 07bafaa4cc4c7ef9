"""A clean document as an HTTP response: an attachment by default; a PDF or image may be shown inline,
under a CSP that sandboxes it (no script, no same-origin access). The content type is the one found
from the content, so nothing is ever served as HTML from the portal's origin."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response
from werkzeug.http import dump_options_header

from refportal.documents.models import Document
from refportal.documents.services import document_chunks

SANDBOX_CSP = "sandbox; default-src 'none'; img-src 'self'; object-src 'self'; style-src 'unsafe-inline'"


def content_disposition(filename: str, *, inline: bool) -> str:
    """`attachment` (or `inline`) with the name as ASCII and as RFC 5987 UTF-8."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    names = {"filename": ascii_name, "filename*": f"UTF-8''{quote(filename, safe='')}"}
    return dump_options_header("inline" if inline else "attachment", names)


def document_response(document: Document, *, inline: bool) -> Response:
    inline = inline and document.shows_inline
    response = Response(document_chunks(document), mimetype=document.content_type)
    response.headers["Content-Length"] = str(document.size)
    response.headers["Content-Disposition"] = content_disposition(document.filename, inline=inline)
    response.headers["Content-Security-Policy"] = SANDBOX_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
