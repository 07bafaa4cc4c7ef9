from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from refportal.applications.categories import CATEGORIES, Credential
from refportal.forms import OptionalChoice, SingleLine, WholeNumber, choices, strip_text

MAX_PAGE = 10_000


class RegistrySearchForm(Form):
    """The registry's search, read from the query string (a GET form: no CSRF, no session, nothing changes)."""

    name = StringField("Name", filters=[strip_text], validators=[Optional(), Length(max=120), SingleLine()])
    credential = SelectField(
        "Credential",
        choices=choices([("", "Any")] + [(c.value, c.short) for c in Credential]),
        validators=[OptionalChoice()],
    )
    category = SelectField(
        "Category",
        choices=choices([("", "Any")] + [(str(n), str(n)) for n in CATEGORIES]),
        validators=[OptionalChoice()],
    )
    place = StringField("City or region", filters=[strip_text], validators=[Optional(), Length(max=120), SingleLine()])
    page = WholeNumber("Page", default=1, validators=[Optional(), NumberRange(1, MAX_PAGE)])


class ListingForm(FlaskForm):
    """The endorsee's choices for the public registry."""

    listed = BooleanField("List me in the public registry")
    show_city = BooleanField("Show my city or region in the registry")
    city = StringField("City or region", filters=[strip_text], validators=[Optional(), Length(max=120), SingleLine()])
