"""The entry forms. Their checks repeat the service's rules (entries.py) so that each message shows
beside its field; the service checks again whoever calls it."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from refportal.forms import DayField, SingleLine, choices, strip_text
from refportal.portfolio.entries import hours_problem
from refportal.portfolio.models import RscFormat


def _hours_rule(form, field):
    problem = hours_problem(field.data)
    if problem is not None:
        raise ValidationError(problem)


def _hours_field(label: str) -> DecimalField:
    return DecimalField(label, places=2, validators=[InputRequired("Enter the hours."), _hours_rule])


class TrainingEntryForm(FlaskForm):
    title = StringField(
        "Title of the training",
        filters=[strip_text],
        validators=[DataRequired("Enter the title."), Length(max=200), SingleLine()],
    )
    provider = StringField(
        "Provider (who gave it)",
        filters=[strip_text],
        validators=[DataRequired("Enter the provider."), Length(max=200), SingleLine()],
    )
    taken_on = DayField("Date", validators=[InputRequired("Enter the date of the training.")])
    hours = _hours_field("Hours")
    about_rsc = BooleanField("On reflective supervision/consultation")
    about_dei = BooleanField("On diversity, equity and inclusion")


class RscEntryForm(FlaskForm):
    provider = StringField(
        "Provider's name",
        filters=[strip_text],
        validators=[DataRequired("Enter the provider's name."), Length(max=200), SingleLine()],
    )
    provider_credential = StringField(
        "Provider's credential (for example IMH-E Mentor–Clinical)",
        filters=[strip_text],
        validators=[Optional(), Length(max=120), SingleLine()],
    )
    starts_on = DayField("From", validators=[InputRequired("Enter the first date.")])
    ends_on = DayField("Until", validators=[InputRequired("Enter the last date.")])
    hours = _hours_field("Hours received")
    format = RadioField(
        "Individual or group",
        choices=choices([(f.value, f.label) for f in RscFormat]),
        validators=[DataRequired("Choose individual or group.")],
    )

    def validate_ends_on(self, field):
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError("The end date is before the start date.")
