from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length, Optional

from refportal.forms import DayField, OptionalChoice, SelectField, SingleLine, choices, strip_text
from refportal.membership.models import Association, MembershipKind


class MembershipForm(FlaskForm):
    kind = RadioField(
        "Membership",
        choices=choices(
            [
                (
                    MembershipKind.CURRENT_MEMBER.value,
                    "I am a current individual member of an infant mental health association",
                ),
                (MembershipKind.WILL_JOIN.value, "I will join INfancy Onward (the membership fee is added to my fees)"),
            ]
        ),
        validators=[DataRequired("Say whether you are a member or will join.")],
    )
    association = SelectField(
        "Association",
        choices=choices([("", "Choose…")] + [(a.value, a.label) for a in Association]),
        validators=[OptionalChoice()],
    )
    association_name = StringField(
        "Name of the association (if another)",
        filters=[strip_text],
        validators=[Optional(), Length(max=120), SingleLine()],
    )
    member_number = StringField(
        "Member number",
        filters=[strip_text],
        validators=[Optional(), Length(max=40), SingleLine()],
    )
    expires_on = DayField("Membership expires on", validators=[Optional()], format="%Y-%m-%d")


class RosterForm(FlaskForm):
    roster = FileField(
        "Roster (CSV: member_number, email, name, expires_on)",
        validators=[FileRequired("Choose the roster file."), FileAllowed(["csv"], "Upload a .csv file.")],
    )
