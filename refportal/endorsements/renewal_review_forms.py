"""Staff's forms on a renewal: the queue's filters (a GET form), and the decisions and the membership check,
each carrying the renewal's version as the page showed it (a decision from an older page is refused)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Form, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from refportal.applications.categories import Credential
from refportal.endorsements.models import RenewalStatus
from refportal.endorsements.renewal_review import MAX_MESSAGE, MAX_NOTE
from refportal.forms import OptionalChoice, Paragraphs, SelectField, SingleLine, WholeNumber, choices, strip_text


class RenewalQueueForm(Form):
    """The renewal queue's filters, read from the query string (nothing changes: no CSRF)."""

    status = SelectField(
        "Status",
        choices=choices([("", "Any but drafts")] + [(s.value, s.label) for s in RenewalStatus]),
        validators=[OptionalChoice()],
    )
    credential = SelectField(
        "Credential",
        choices=choices([("", "Any")] + [(c.value, c.short) for c in Credential]),
        validators=[OptionalChoice()],
    )
    late = SelectField(
        "Late",
        choices=choices([("", "Any"), ("yes", "Late (after the period ended)"), ("no", "On time")]),
        validators=[OptionalChoice()],
    )
    page = WholeNumber("Page", default=1, validators=[Optional(), NumberRange(1, 100_000)])


class RenewalVersionForm(FlaskForm):
    """A decision's button: the version of the renewal the page showed."""

    version = WholeNumber(
        widget=HiddenInput(), validators=[InputRequired("The page is out of date: open the renewal again.")]
    )


class ApproveRenewalForm(RenewalVersionForm):
    pass


class MoreRenewalForm(RenewalVersionForm):
    message = TextAreaField(
        "What is needed (the endorsee reads this)",
        filters=[strip_text],
        validators=[
            DataRequired("Write what is needed: the endorsee will read it."),
            Length(max=MAX_MESSAGE),
            Paragraphs(),
        ],
    )


class RefuseRenewalForm(RenewalVersionForm):
    message = TextAreaField(
        "Reason for the refusal (the endorsee reads this)",
        filters=[strip_text],
        validators=[
            DataRequired("Write the reason for the refusal: the endorsee will read it."),
            Length(max=MAX_MESSAGE),
            Paragraphs(),
        ],
    )


class RenewalMembershipForm(RenewalVersionForm):
    verdict = RadioField(
        "Membership",
        choices=choices([("verify", "Verified"), ("reject", "Rejected")]),
        validators=[DataRequired("Choose verified or rejected.")],
    )
    note = StringField(
        "Note (needed for a rejection)",
        filters=[strip_text],
        validators=[Length(max=MAX_NOTE), SingleLine()],
    )
