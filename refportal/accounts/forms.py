from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from refportal.forms import SelectField, SingleLine, ValidEmail, choices, strip_text
from refportal.i18n import DEFAULT_LANGUAGE, LANGUAGES
from refportal.security.passwords import MAX_PASSWORD_LENGTH, password_problem


class NewPasswordMixin:
    """A new password typed twice, checked against the password rules."""

    password = PasswordField(
        "Password",
        validators=[DataRequired("Choose a password."), Length(max=MAX_PASSWORD_LENGTH)],
        description="At least 12 characters. A few unrelated words make a strong, memorable password.",
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired("Type the password again."), EqualTo("password", "The two passwords differ.")],
    )

    def validate_password(self, field):
        email = getattr(getattr(self, "email", None), "data", None) or getattr(self, "account_email", "")
        name = getattr(getattr(self, "name", None), "data", None) or ""
        problem = password_problem(field.data or "", email=email or "", name=name)
        if problem:
            raise ValidationError(problem)


def language_field() -> SelectField:
    """The language of the e-mails about the account's endorsement. The service checks the value against
    refportal.i18n.LANGUAGES (its refusal is the message a value not offered gets)."""
    return SelectField(
        "Language of your endorsement e-mails",
        choices=choices(LANGUAGES.items()),
        default=DEFAULT_LANGUAGE,
        validate_choice=False,
        description="The renewal, grace and lapse notices about your endorsement are written in it. "
        "The portal's pages stay in English.",
    )


class RegistrationForm(NewPasswordMixin, FlaskForm):
    name = StringField(
        "Full name",
        filters=[strip_text],
        validators=[DataRequired("Enter your name."), Length(max=120), SingleLine()],
    )
    email = EmailField(
        "E-mail address",
        filters=[strip_text],
        validators=[DataRequired("Enter your e-mail address."), Length(max=254), ValidEmail()],
    )
    language = language_field()


class AccountSettingsForm(FlaskForm):
    """The account page: the language of the e-mails about the account's endorsement."""

    language = language_field()


class LoginForm(FlaskForm):
    email = EmailField(
        "E-mail address", filters=[strip_text], validators=[DataRequired("Enter your e-mail address."), Length(max=254)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=MAX_PASSWORD_LENGTH)]
    )


class PasswordResetRequestForm(FlaskForm):
    email = EmailField(
        "E-mail address",
        filters=[strip_text],
        validators=[DataRequired("Enter your e-mail address."), Length(max=254), ValidEmail()],
    )


class PasswordResetForm(NewPasswordMixin, FlaskForm):
    def __init__(self, *args, account_email: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.account_email = account_email


class ConfirmEmailForm(FlaskForm):
    """The button that confirms an address (a POST, so a link scanner cannot do it)."""
