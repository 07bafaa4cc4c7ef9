"""Uploads are judged by their content, not their name: what is refused, with what message, and that
nothing is stored for a refused upload."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from refportal.documents.models import Document, DocumentBlob, DocumentPurpose
from refportal.documents.services import store_document
from refportal.extensions import db
from refportal.transactions import attempt
from tests.documents.helpers import upload
from tests.documents_samples import EXECUTABLE, jpeg, pdf, png, png_claiming, zip_bomb

REFUSED = [
    ("a renamed executable", EXECUTABLE, "form.pdf", "is not a PDF, or a PNG or JPEG image"),
    ("a zip bomb named .pdf", zip_bomb(), "form.pdf", "is not a PDF, or a PNG or JPEG image"),
    ("a PDF with JavaScript", pdf(javascript="app.alert('hello')"), "form.pdf", "contains JavaScript"),
    ("a 50,000 × 50,000 pixel image", png_claiming(50_000, 50_000), "scan.png", "image is too large"),
    ("a 10,000 × 10,000 pixel image", png_claiming(10_000, 10_000), "scan.png", "(10,000 × 10,000 pixels)"),
    ("a PDF carrying a file", pdf(attachment=EXECUTABLE), "form.pdf", "contains JavaScript or other active content"),
    ("a password-protected PDF", pdf(password="secret"), "form.pdf", "password-protected"),
    ("a damaged PDF", b"%PDF-1.7\n" + b"\x00garbage" * 50, "form.pdf", "could not be read"),
    ("an empty file", b"", "form.pdf", "The file is empty"),
    ("a path in the name", pdf(), "../../etc/form.pdf", "must not contain “/” or “\\”"),
    ("a Windows path in the name", pdf(), "C:\\forms\\form.pdf", "must not contain “/” or “\\”"),
    ("a control character in the name", pdf(), "form\x00.pdf", "control characters"),
    ("a newline in the name", pdf(), "form\r\nX-Header: 1.pdf", "control characters"),
    ("a right-to-left override in the name", pdf(), "form\u202efdp.exe", "control characters"),
]


@pytest.mark.parametrize(("case", "content", "filename", "message"), REFUSED, ids=[case[0] for case in REFUSED])
def test_a_bad_upload_is_refused_with_a_clear_message_and_nothing_is_stored(
    app, owner, case, content, filename, message
):
    with app.app_context():
        app.config["DOCUMENT_STORAGE"] = "database"
        outcome = attempt(
            lambda: store_document(
                application_id=owner, purpose=DocumentPurpose.TRANSCRIPT, upload=upload(content, filename), actor=None
            )
        )
        assert outcome.refusal is not None, case
        assert message in outcome.refusal.message
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DocumentBlob)) == 0


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        (pdf(), "form.pdf", "application/pdf"),
        (pdf(), "form.jpg", "application/pdf"),  # the content decides, not the name
        (png(), "scan.png", "image/png"),
        (jpeg(), "scan.jpeg", "image/jpeg"),
        (png(), "Formulario firmado — Ñandú.png", "image/png"),
    ],
)
def test_an_accepted_upload_keeps_the_type_its_content_shows(app, owner, content, filename, content_type):
    with app.app_context():
        document = store_document(
            application_id=owner, purpose=DocumentPurpose.TRANSCRIPT, upload=upload(content, filename), actor=None
        )
        assert (document.content_type, document.filename) == (content_type, filename)


def test_a_pdf_with_more_objects_than_the_limit_is_refused(app, owner):
    with app.app_context():
        app.config["DOCUMENT_MAX_PDF_OBJECTS"] = 3
        outcome = attempt(
            lambda: store_document(
                application_id=owner, purpose=DocumentPurpose.TRANSCRIPT, upload=upload(pdf()), actor=None
            )
        )
        assert outcome.refusal is not None and "too complex to check" in outcome.refusal.message
