"""The renewal page's forms. Each carries the renewal's version as the page showed it (a change from an
older page is refused by the service); the entry forms are the portfolio's, with hours that must be a
finite number before their rules are checked."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from refportal.config import RENEWAL_ATTESTATIONS
from refportal.forms import DayField, SelectField, SingleLine, WholeNumber, choices, strip_text
from refportal.membership.models import Association
from refportal.portfolio.entries import hours_problem
from refportal.portfolio.forms import RscEntryForm, TrainingEntryForm

STALE_PAGE = "This page is out of date: reload it and try again."


def _version_field() -> WholeNumber:
    return WholeNumber(widget=HiddenInput(), validators=[InputRequired(STALE_PAGE)])


def _finite_hours(form, field):
    if field.data is not None and not field.data.is_finite():
        raise StopValidation("Enter the hours as a number.")
    problem = hours_problem(field.data)
    if problem is not None:
        raise ValidationError(problem)


def _hours_field(label: str) -> DecimalField:
    return DecimalField(label, places=2, validators=[InputRequired("Enter the hours."), _finite_hours])


class VersionedForm(FlaskForm):
    version = _version_field()

    def refresh_version(self, version: int) -> None:
        """Show the renewal's current version (after a refusal, pressing again acts on what is shown)."""
        self.version.data, self.version.raw_data = version, None


class RenewalMembershipForm(VersionedForm):
    association = SelectField(
        "Association",
        choices=choices([("", "Choose…")] + [(a.value, a.label) for a in Association]),
        validators=[DataRequired("Choose the association you are a member of.")],
    )
    association_name = StringField(
        "Name of the association (if another)",
        filters=[strip_text],
        validators=[Optional(), Length(max=120), SingleLine()],
    )
    member_number = StringField(
        "Member number",
        filters=[strip_text],
        validators=[DataRequired("Enter your member number."), Length(max=40), SingleLine()],
    )
    expires_on = DayField(
        "Membership expires on",
        validators=[InputRequired("Enter the date your membership expires.")],
        format="%Y-%m-%d",
    )


class RenewalTrainingForm(TrainingEntryForm):
    version = _version_field()
    hours = _hours_field("Hours")

    refresh_version = VersionedForm.refresh_version


class RenewalRscForm(RscEntryForm):
    version = _version_field()
    hours = _hours_field("Hours received")

    refresh_version = VersionedForm.refresh_version


class RemoveEntryForm(VersionedForm):
    """One entry's remove button (its kind and id are hidden fields written by the page)."""

    kind = StringField(widget=HiddenInput(), validators=[DataRequired(STALE_PAGE), Length(max=16)])
    entry_id = WholeNumber(widget=HiddenInput(), validators=[InputRequired(STALE_PAGE)])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DeclarationsForm(VersionedForm):
    provides_rsc = BooleanField("I provide reflective supervision/consultation to others")
    attestations = MultiCheckboxField("Attestations", choices=[])

    def set_attestations(self, keys: tuple[str, ...]) -> None:
        self.attestations.choices = choices([(key, RENEWAL_ATTESTATIONS[key]) for key in keys])


class SubmitRenewalForm(VersionedForm):
    """The submit button."""
