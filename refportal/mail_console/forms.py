"""The staff mail console's forms."""

from __future__ import annotations

from wtforms import Form, StringField
from wtforms.validators import Length, NumberRange, Optional

from refportal.forms import DayField, OptionalChoice, SelectField, SingleLine, WholeNumber, choices, strip_text
from refportal.mail_console.services import Delivery


class ConsoleFilterForm(Form):
    """The console's filters, read from the query string (a GET form: no CSRF, nothing changes)."""

    address = StringField(
        "Recipient address contains", filters=[strip_text], validators=[Optional(), Length(max=254), SingleLine()]
    )
    delivery = SelectField(
        "Status",
        choices=choices([("", "Any")] + [(d.value, d.value.capitalize()) for d in Delivery]),
        validators=[OptionalChoice()],
    )
    queued_from = DayField("Queued from", validators=[Optional()])
    queued_to = DayField("Queued until", validators=[Optional()])
    page = WholeNumber("Page", default=1, validators=[Optional(), NumberRange(1, 100_000)])
