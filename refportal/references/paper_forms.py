"""The staff's form for a referee's signed paper rating: the referee's own rating form (same fields,
same rules), with the signature confirmed by staff and the signed form to upload."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, StringField
from wtforms.validators import Length

from refportal.applications.categories import Credential
from refportal.forms import SingleLine, strip_text
from refportal.references.forms import RATING_FORMS, RatingFormBase

ACCEPTED_FILES = "application/pdf,image/png,image/jpeg"


def _paper_form(credential: Credential) -> type[RatingFormBase]:
    fields = {
        "attestation_name": StringField(
            "The referee's name as signed on the form",
            filters=[strip_text],
            validators=[Length(max=120), SingleLine()],
        ),
        "attest": BooleanField("The referee signed this form; I have entered their answers exactly as written."),
        "signed_form": FileField(
            "The signed form (PDF, or a PNG or JPEG scan)",
            description="Kept with the rating. It is scanned for viruses before anyone can open it.",
        ),
    }
    return type(f"PaperRatingForm_{credential.name}", (RATING_FORMS[credential],), fields)


PAPER_RATING_FORMS = {credential: _paper_form(credential) for credential in Credential}
