from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DecimalField, RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from refportal.applications.categories import (
    CATEGORIES,
    CATEGORY_NAMES,
    Credential,
    EducationLevel,
    MentorTrack,
)
from refportal.applications.services import MAX_HOURS, MAX_WORK_YEARS
from refportal.db import utc_today
from refportal.forms import OptionalChoice, SelectField, SingleLine, WholeNumber, choices, strip_text
from refportal.portfolio.entries import year_problem


class ApplicationForm(FlaskForm):
    credential = RadioField(
        "Credential",
        choices=choices((c.value, c.label) for c in Credential),
        validators=[DataRequired("Choose the credential you apply for.")],
    )
    category = RadioField(
        "Category",
        choices=choices(
            (str(n), f"Category {n}: {CATEGORY_NAMES[Credential.IMH_E][n]} / {CATEGORY_NAMES[Credential.ECMH_E][n]}")
            for n in CATEGORIES
        ),
        validators=[DataRequired("Choose a category.")],
    )
    mentor_track = SelectField(
        "Mentor track (category 4 only)",
        choices=choices([("", "—")] + [(t.value, t.label) for t in MentorTrack]),
        validators=[OptionalChoice()],
        validate_choice=True,
    )


class EligibilityForm(FlaskForm):
    education_level = SelectField(
        "Highest completed education",
        choices=choices([("", "Choose…")] + [(e.value, e.label) for e in EducationLevel]),
        validators=[DataRequired("Choose your highest completed education.")],
    )
    work_years = DecimalField(
        "Years of related work with young children and families",
        places=1,
        validators=[
            InputRequired("Enter your years of related work (0 if none)."),
            NumberRange(0, MAX_WORK_YEARS, f"Enter years of work between 0 and {MAX_WORK_YEARS}."),
        ],
    )
    training_hours = WholeNumber(
        "In-service training hours",
        validators=[
            InputRequired("Enter your in-service training hours (0 if none)."),
            NumberRange(0, MAX_HOURS, f"Enter a number of hours between 0 and {MAX_HOURS:,}."),
        ],
    )
    rsc_hours = WholeNumber(
        "Hours of reflective supervision/consultation received",
        validators=[
            InputRequired("Enter your reflective supervision/consultation hours (0 if none)."),
            NumberRange(0, MAX_HOURS, f"Enter a number of hours between 0 and {MAX_HOURS:,}."),
        ],
    )
    employer = StringField(
        "Where you work now (optional: a reviewer from the same organisation will not review your file)",
        filters=[strip_text],
        validators=[Optional(), Length(max=160), SingleLine()],
    )


class EducationEntryForm(FlaskForm):
    level = SelectField(
        "Degree or credential",
        choices=choices([("", "Choose…")] + [(e.value, e.label) for e in EducationLevel]),
        validators=[DataRequired("Choose the level of the degree or credential.")],
    )
    field_of_study = StringField(
        "Field of study",
        filters=[strip_text],
        validators=[DataRequired("Enter the field of study."), Length(max=200), SingleLine()],
    )
    institution = StringField(
        "School, college or university (or the credential's issuer)",
        filters=[strip_text],
        validators=[DataRequired("Enter the institution."), Length(max=200), SingleLine()],
    )
    year_completed = WholeNumber("Year completed", validators=[InputRequired("Enter the year you completed it.")])

    def validate_year_completed(self, field):
        problem = year_problem(field.data, utc_today())
        if problem is not None:
            raise ValidationError(problem)
