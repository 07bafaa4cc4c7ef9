from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from refportal.applications.categories import CATEGORIES, Credential
from refportal.endorsements.lifecycle import EndorsementStatus
from refportal.forms import OptionalChoice, SelectField, SingleLine, WholeNumber, choices, strip_text

# A search's pages go this deep and no further (1,000 entries at 25 a page): a deeper page would read every
# entry before it. Past it, a narrower search or the whole registry's download.
MAX_PAGE = 40


class RegistrySearchForm(Form):
    """The registry's search, read from the query string (a GET form: no CSRF, no session, nothing changes)."""

    name = StringField("Name or surname", filters=[strip_text], validators=[Optional(), Length(max=120), SingleLine()])
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
    page = WholeNumber(
        "Page",
        default=1,
        validators=[
            Optional(),
            NumberRange(1, MAX_PAGE, message=f"A search's pages go from 1 to {MAX_PAGE}: narrow the search."),
        ],
    )


class ListingForm(FlaskForm):
    """The endorsee's choices for the public registry."""

    listed = BooleanField("List me in the public registry")
    show_city = BooleanField("Show my city or region in the registry")
    city = StringField("City or region", filters=[strip_text], validators=[Optional(), Length(max=120), SingleLine()])


class StaffEndorsementFilterForm(Form):
    """The staff list's filters (GET: a plain form without CSRF, it changes nothing)."""

    q = StringField(
        "Name, e-mail or number", filters=[strip_text], validators=[Optional(), Length(max=120), SingleLine()]
    )
    status = SelectField(
        "Status",
        choices=choices([("", "Any status")] + [(s.value, s.label) for s in EndorsementStatus]),
        validators=[Optional()],
    )


class RevokeForm(FlaskForm):
    reason = TextAreaField(
        "Why it is revoked (the holder is told)",
        filters=[strip_text],
        validators=[DataRequired("Say why the endorsement is revoked."), Length(max=2000)],
    )
