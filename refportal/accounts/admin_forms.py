from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from refportal.accounts.models import Role
from refportal.forms import SelectField, SingleLine, ValidEmail, choices, strip_text

STAFF_ROLES = choices([(Role.REVIEWER.value, "Reviewer"), (Role.ADMIN.value, "Administrator")])


class InviteForm(FlaskForm):
    name = StringField(
        "Full name", filters=[strip_text], validators=[DataRequired("Enter the name."), Length(max=120), SingleLine()]
    )
    email = EmailField(
        "E-mail address",
        filters=[strip_text],
        validators=[DataRequired("Enter the e-mail address."), Length(max=254), ValidEmail()],
    )
    role = SelectField("Role", choices=STAFF_ROLES, validators=[DataRequired("Choose a role.")])
    organisation = StringField(
        "Organisation (optional: they will not review applicants who work there)",
        filters=[strip_text],
        validators=[Optional(), Length(max=160), SingleLine()],
    )


class RoleForm(FlaskForm):
    role = SelectField(
        "Role",
        choices=choices((r.value, r.value.capitalize()) for r in Role),
        validators=[DataRequired("Choose a role.")],
    )


class ActiveForm(FlaskForm):
    active = HiddenField(validators=[AnyOf(["0", "1"])])
