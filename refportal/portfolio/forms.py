"""The entry forms (an application's education entry form is the applications package's: it names the
levels). Their checks repeat the service's rules (entries.py) so that each message shows
beside its field; the service checks again whoever calls it."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from refportal.db import utc_today
from refportal.forms import DayField, SingleLine, WholeNumber, choices, strip_text
from refportal.portfolio.entries import hours_per_week_problem, hours_problem, work_dates_problem
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


class WorkEntryForm(FlaskForm):
    employer = StringField(
        "Employer",
        filters=[strip_text],
        validators=[DataRequired("Enter the employer."), Length(max=200), SingleLine()],
    )
    role = StringField(
        "Your role",
        filters=[strip_text],
        validators=[DataRequired("Enter your role."), Length(max=200), SingleLine()],
    )
    starts_on = DayField("From", validators=[InputRequired("Enter the date the work started.")])
    ends_on = DayField("Until (leave empty while it goes on)", validators=[Optional()])
    hours_per_week = WholeNumber("Hours a week", validators=[InputRequired("Enter the hours a week.")])
    serves_0_3 = BooleanField("With children from birth to three and their families")
    serves_3_6 = BooleanField("With children from three up to six and their families")
    description = TextAreaField(
        "What the work involves (optional)", filters=[strip_text], validators=[Optional(), Length(max=1000)]
    )

    def validate_hours_per_week(self, field):
        problem = hours_per_week_problem(field.data)
        if problem is not None:
            raise ValidationError(problem)

    def validate_ends_on(self, field):
        problem = work_dates_problem(self.starts_on.data, field.data, utc_today()) if self.starts_on.data else None
        if problem is not None:
            raise ValidationError(problem)
