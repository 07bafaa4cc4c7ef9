"""The applicant's submission form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import DataRequired


class SubmitApplicationForm(FlaskForm):
    attest = BooleanField(
        "I confirm that the information in this application is true and complete, and I agree to follow "
        "the association's code of ethics.",
        validators=[DataRequired("Confirm the statement to submit your application.")],
    )
