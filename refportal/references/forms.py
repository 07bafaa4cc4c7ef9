from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    HiddenField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from refportal.applications.categories import CATEGORIES, Credential
from refportal.forms import (
    OptionalChoice,
    Paragraphs,
    SelectField,
    SingleLine,
    TranslatedForm,
    ValidEmail,
    choices,
    strip_text,
)
from refportal.i18n import LANGUAGES
from refportal.i18n import lazy_gettext as _l
from refportal.references.models import Reference
from refportal.references.rating_form import (
    DOMAINS,
    NOT_ENDORSED,
    NOT_ENOUGH_INFORMATION,
    NOT_ENOUGH_INFORMATION_LABEL,
    SCALE,
    Recommendation,
    item_text,
)
from refportal.references.roles import REFEREE_SIDE_LABELS, RefereeRole
from refportal.references.steps import STEPS, WHOLE_FORM, Step


class NominationForm(FlaskForm):
    name = StringField(
        "Referee's full name",
        filters=[strip_text],
        validators=[DataRequired("Enter the referee's name."), Length(max=120), SingleLine()],
    )
    email = EmailField(
        "Referee's e-mail address",
        filters=[strip_text],
        validators=[DataRequired("Enter the referee's e-mail address."), Length(max=254), ValidEmail()],
        description="A personal address is safest: employer mail servers often block portal mail.",
    )
    organisation = StringField(
        "Organisation",
        filters=[strip_text],
        validators=[DataRequired("Enter the referee's organisation."), Length(max=160), SingleLine()],
    )
    role = SelectField("The referee's role for you", validators=[DataRequired("Choose the referee's role.")])
    setting = StringField(
        "In what setting do they know you?",
        filters=[strip_text],
        validators=[DataRequired("Say in what setting the referee knows you."), Length(max=200), SingleLine()],
        description="For example: home visiting program at Riverside Family Services.",
    )
    known_years = DecimalField(
        "For how many years have they known you?",
        places=1,
        validators=[
            InputRequired("Say how many years the referee has known you."),
            NumberRange(0, 60, "Enter a number of years from 0 to 60."),
        ],
        description="A referee should have known you for about a year.",
    )
    endorsed_credential = SelectField(
        "Is the referee endorsed?",
        choices=choices([("", "Not endorsed, or I do not know")] + [(c.value, c.short) for c in Credential]),
        validators=[OptionalChoice()],
    )
    endorsed_category = SelectField(
        "Their endorsement category",
        choices=choices([("", "—")] + [(str(n), f"Category {n}") for n in CATEGORIES]),
        validators=[OptionalChoice()],
    )
    waived = RadioField(
        "Do you waive your right to see this reference's content?",
        choices=choices(
            [
                ("yes", "Yes, I waive the right to see what this referee writes"),
                ("no", "No, I want to be able to read it"),
            ]
        ),
        validators=[DataRequired("Say whether you waive the right to see this reference.")],
        description="You always see the status. Many referees only rate when the right is waived.",
    )

    language = RadioField(
        "The referee's language (their e-mails and the rating form)",
        choices=choices(LANGUAGES.items()),
        default="en",
        validators=[DataRequired("Choose the referee's language.")],
    )

    def set_roles(self, roles: tuple[RefereeRole, ...]) -> None:
        self.role.choices = choices([("", "Choose…")] + [(r.value, r.label) for r in roles])


class CorrectEmailForm(FlaskForm):
    email = EmailField(
        "Correct e-mail address",
        filters=[strip_text],
        validators=[DataRequired("Enter the corrected e-mail address."), Length(max=254), ValidEmail()],
    )


class DeclineForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (optional)"),
        filters=[strip_text],
        validators=[Optional(), Length(max=1000), Paragraphs()],
        description=_l("The reviewers see this; it helps the applicant find another referee."),
    )


class ConfirmForm(FlaskForm):
    digest = HiddenField()


class ReuseConfirmForm(FlaskForm):
    """The referee's one button: let an earlier rating stand for this application."""


class FreshLinkForm(FlaskForm):
    """Ask for a new link after the old one expired."""


TEXT_LIMIT = 5000


class RatingFormBase(TranslatedForm):
    """Nothing is required here, so a draft can be saved at any point; `rating_problems` decides
    what a submission needs. CSRF failures become a message on the form (answers are kept).

    Every answer's field is declared here; a form class holds those of one step (`step_form`: a step's
    page draws and saves only its own answers, and building all 32 fields for every step's request
    cost more than the rest of the form's work) or of every step (`RATING_FORMS`, the whole form)."""

    _item_fields: tuple[str, ...] = ()  # the competency items this class holds, as field names

    recommendation = RadioField(
        _l("Overall recommendation"),
        choices=choices((r.value, r.label) for r in Recommendation),
        validators=[OptionalChoice()],
    )
    strengths = TextAreaField(
        _l("The applicant's strengths"), filters=[strip_text], validators=[Length(max=TEXT_LIMIT), Paragraphs()]
    )
    growth = TextAreaField(
        _l("Areas for growth"), filters=[strip_text], validators=[Length(max=TEXT_LIMIT), Paragraphs()]
    )
    for_reviewers = TextAreaField(
        _l("Anything else the reviewers should know (optional)"),
        filters=[strip_text],
        validators=[Length(max=TEXT_LIMIT), Paragraphs()],
    )
    relationship_role = StringField(
        _l("In what role do you know the applicant?"),
        filters=[strip_text],
        validators=[Length(max=160), SingleLine()],
        description=_l("For example: I have been their program supervisor."),
    )
    relationship_setting = StringField(
        _l("In what setting?"), filters=[strip_text], validators=[Length(max=200), SingleLine()]
    )
    relationship_years = DecimalField(
        _l("For how many years?"),
        places=1,
        validators=[Optional(), NumberRange(0, 60, _l("Enter a number of years from 0 to 60."))],
    )
    referee_role = RadioField(
        _l("Your role toward the applicant"),
        validators=[OptionalChoice()],
        description=_l("The applicant named this role; correct it if it is not right."),
    )
    endorsement = RadioField(_l("Do you hold the Endorsement yourself?"), validators=[OptionalChoice()])
    endorsed_category = SelectField(_l("Category of your endorsement"), validators=[OptionalChoice()])
    endorsement_number = StringField(
        _l("Your endorsement number (optional)"), filters=[strip_text], validators=[Length(max=40), SingleLine()]
    )
    attestation_name = StringField(
        _l("Your full name (signature)"), filters=[strip_text], validators=[Length(max=120), SingleLine()]
    )
    attest = BooleanField(_l("I am the referee named in this request, and this rating is my own honest judgement."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Choice labels follow the page's language (they are fixed when the class is made); only the
        # fields this class holds get theirs.
        fields = self._fields
        if "recommendation" in fields:
            self.recommendation.choices = choices((r.value, r.label) for r in Recommendation)
        if "referee_role" in fields:
            self.referee_role.choices = choices((role.value, label) for role, label in REFEREE_SIDE_LABELS.items())
        if "endorsement" in fields:
            self.endorsement.choices = choices([(NOT_ENDORSED, _l("No"))] + [(c.value, c.short) for c in Credential])
        if "endorsed_category" in fields:
            self.endorsed_category.choices = choices([("", "—")] + [(str(n), str(n)) for n in CATEGORIES])


def _item_field_name(key: str) -> str:
    return f"item_{key}"


# The scale's labels are lazy strings (drawn in the page's language), so every item shares one list.
SCALE_CHOICES = choices(list(SCALE) + [(NOT_ENOUGH_INFORMATION, NOT_ENOUGH_INFORMATION_LABEL)])


def _build_rating_form(credential: Credential, shown: Step) -> type[RatingFormBase]:
    """The form class of step `shown`: its answers' fields and its items' (a field of another step is
    set to None, WTForms' way of leaving out a field the base class declares)."""
    items = {
        _item_field_name(item.key): RadioField(
            _ItemLabel(item, credential), choices=SCALE_CHOICES, validators=[OptionalChoice()]
        )
        for domain in shown.domains
        for item in domain.items
    }
    left_out = {field: None for field in ANSWER_FIELDS if field not in shown.fields}
    return type(
        f"RatingForm_{credential.name}_{shown.key}",
        (RatingFormBase,),
        {**left_out, **items, "_item_fields": tuple(items)},
    )


class _ItemLabel:
    """An item's label, translated when the page is drawn."""

    def __init__(self, item, credential):
        self.item, self.credential = item, credential

    def __str__(self) -> str:
        return item_text(self.item, self.credential)

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))


ANSWER_FIELDS = (
    "recommendation",
    "strengths",
    "growth",
    "for_reviewers",
    "relationship_role",
    "relationship_setting",
    "relationship_years",
    "referee_role",
    "endorsement",
    "endorsed_category",
    "endorsement_number",
    "attestation_name",
    "attest",
)

# The whole form (every step's answers and items), by credential.
RATING_FORMS = {credential: _build_rating_form(credential, WHOLE_FORM) for credential in Credential}
_STEP_FORMS = {
    (credential, shown.key): _build_rating_form(credential, shown) for credential in Credential for shown in STEPS
}


def step_form(credential: Credential, shown: Step) -> type[RatingFormBase]:
    """The form class of one step of the rating form (WHOLE_FORM: every answer, RATING_FORMS')."""
    if shown.key == WHOLE_FORM.key:
        return RATING_FORMS[credential]
    return _STEP_FORMS[(credential, shown.key)]


def answers_from_form(form: RatingFormBase) -> dict:
    """The typed answers as plain data (for the draft and the rating): those of the fields the form
    holds (a step's form holds only the step's; `merge_step` keeps the draft's others)."""
    answers = {field: form[field].data for field in ANSWER_FIELDS if field in form}
    if "relationship_years" in form:
        years = form.relationship_years
        raw_years = years.raw_data[0] if years.raw_data else ""
        answers["relationship_years"] = str(years.data) if years.data is not None else raw_years
    if "attest" in form:
        answers["attest"] = bool(form.attest.data)
    answers["items"] = {name.removeprefix("item_"): form[name].data for name in form._item_fields if form[name].data}
    return answers


def nomination_defaults(reference: Reference) -> dict:
    """What the applicant said about the relationship, for the referee to confirm or correct."""
    defaults: dict = {
        "referee_role": reference.role.value,
        "relationship_years": reference.known_years,
        "endorsement": NOT_ENDORSED,
    }
    if reference.endorsed_credential is not None:
        defaults.update(
            endorsement=reference.endorsed_credential.value, endorsed_category=str(reference.endorsed_category)
        )
    return defaults


def form_data_from_answers(answers: dict | None, defaults: dict | None = None) -> dict:
    """The other way round: a saved draft as form data, over `defaults` (what the nomination said)."""
    if not answers:
        return dict(defaults or {})
    data = {
        **(defaults or {}),
        **{field: answers.get(field) for field in ANSWER_FIELDS if answers.get(field) not in (None, "")},
    }
    if "relationship_years" in data:
        try:
            data["relationship_years"] = Decimal(str(data["relationship_years"]))
        except InvalidOperation:
            del data["relationship_years"]
    data.update({_item_field_name(key): value for key, value in answers.get("items", {}).items()})
    return data


def typed_from_request(form_data) -> dict:
    """What a referee sent, unchecked, only to show it back to them when it cannot be saved."""
    typed = {field: form_data.get(field, "")[:TEXT_LIMIT] for field in ANSWER_FIELDS if field != "attest"}
    typed["items"] = {
        item.key: form_data.get(_item_field_name(item.key))
        for domain in DOMAINS
        for item in domain.items
        if form_data.get(_item_field_name(item.key))
    }
    return typed
