from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, URLField, widgets
from wtforms.validators import DataRequired, Length

from refportal.api.models import Scope
from refportal.forms import SingleLine, choices, strip_text


class KeyForm(FlaskForm):
    name = StringField(
        "Name (the system that will use it)",
        filters=[strip_text],
        validators=[DataRequired("Name the key."), Length(max=80), SingleLine()],
    )
    scopes = SelectMultipleField(
        "Scopes",
        choices=choices(
            [
                (Scope.READ_APPLICATIONS.value, "read:applications — applications, statuses and decisions"),
                (Scope.WRITE_ROSTER.value, "write:roster — import the membership roster"),
                (Scope.READ_REGISTRY.value, "read:registry — the public registry of endorsements"),
            ]
        ),
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
        validators=[DataRequired("Choose at least one scope.")],
    )


class EndpointForm(FlaskForm):
    url = URLField(
        "Endpoint address",
        filters=[strip_text],
        validators=[DataRequired("Give the endpoint's address."), Length(max=500), SingleLine()],
    )
