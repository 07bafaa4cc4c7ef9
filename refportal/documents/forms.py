"""The upload form of a portfolio document (the applicant's page and staff's, on the applicant's behalf),
the one-button forms beside each document, and what the lists show of a document's scan."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms.validators import DataRequired

from refportal.documents.lifecycle import ScanState
from refportal.documents.services import PORTFOLIO_PURPOSES
from refportal.forms import SelectField, choices

ACCEPTED_FILES = "application/pdf,image/png,image/jpeg"

# What a list of documents says of each scan state.
SCAN_WORDS = {
    ScanState.PENDING: "being scanned",
    ScanState.CLEAN: "ready",
    ScanState.QUARANTINED: "quarantined — not kept for anyone to open",
}


class DocumentUploadForm(FlaskForm):
    purpose = SelectField(
        "What the document is",
        choices=choices([("", "Choose…")] + [(p.value, p.label) for p in PORTFOLIO_PURPOSES]),
        validators=[DataRequired("Choose what the document is.")],
        validate_choice=True,
    )
    document = FileField(
        "The file (PDF, or a PNG or JPEG scan)",
        description="At most the size shown below. It is scanned for viruses before anyone can open it.",
    )
