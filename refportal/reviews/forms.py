from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Form, HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from refportal.applications.categories import CATEGORIES, Credential
from refportal.applications.lifecycle import ApplicationStatus
from refportal.applications.verdicts import REASON_MAX, Verdict
from refportal.forms import (
    DayField,
    OptionalChoice,
    Paragraphs,
    SelectField,
    SingleLine,
    WholeNumber,
    choices,
    strip_text,
)
from refportal.membership.models import MembershipStatus
from refportal.reviews.models import Decision


class QueueFilterForm(Form):
    """The queue's filters, read from the query string (a GET form: no CSRF, nothing changes)."""

    q = StringField(
        "Applicant name or e-mail", filters=[strip_text], validators=[Optional(), Length(max=120), SingleLine()]
    )
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
    status = SelectField(
        "Status",
        choices=choices([("", "Any")] + [(s.value, s.label) for s in ApplicationStatus]),
        validators=[OptionalChoice()],
    )
    membership = SelectField(
        "Membership",
        choices=choices([("", "Any"), ("none", "Not declared")] + [(s.value, s.label) for s in MembershipStatus]),
        validators=[OptionalChoice()],
    )
    completeness = SelectField(
        "File",
        choices=choices([("", "Any"), ("complete", "Complete"), ("incomplete", "Incomplete")]),
        validators=[OptionalChoice()],
    )
    verdicts = SelectField(
        "Items",
        choices=choices([("", "Any"), ("needs_more", "Has items needing more"), ("verified", "All items verified")]),
        validators=[OptionalChoice()],
    )
    review_round = SelectField("Round", choices=choices([("", "Any")]), validators=[OptionalChoice()])
    mine = SelectField(
        "Reviewer",
        choices=choices([("", "Anyone"), ("assigned", "Assigned to me"), ("unassigned", "Short of reviewers")]),
        validators=[OptionalChoice()],
    )
    submitted_from = DayField("Submitted from", validators=[Optional()])
    submitted_to = DayField("Submitted until", validators=[Optional()])
    sort = SelectField(
        "Sort by",
        choices=choices(
            [
                ("submitted", "Newest submission"),
                ("oldest", "Oldest submission"),
                ("created", "Newest opened"),
                ("name", "Applicant name"),
            ]
        ),
        validators=[OptionalChoice()],
    )
    page = WholeNumber("Page", default=1, validators=[Optional(), NumberRange(1, 100_000)])


class ReviewForm(FlaskForm):
    outcome = RadioField(
        "Your recommendation",
        choices=choices((o.value, o.label) for o in Decision),
        validators=[DataRequired("Choose your recommendation.")],
    )
    notes = TextAreaField(
        "Notes for the other reviewers", filters=[strip_text], validators=[Length(max=5000), Paragraphs()]
    )
    message = TextAreaField(
        "Message for the applicant (needed for “more information” and “defer”)",
        filters=[strip_text],
        validators=[Length(max=5000), Paragraphs()],
    )


class DecisionForm(FlaskForm):
    outcome = RadioField(
        "Decision",
        choices=choices((o.value, o.label) for o in Decision),
        validators=[DataRequired("Choose the decision.")],
    )
    message = TextAreaField(
        "Message for the applicant", filters=[strip_text], validators=[Length(max=5000), Paragraphs()]
    )


class VerificationForm(FlaskForm):
    verdict = RadioField(
        "Membership",
        choices=choices([("verify", "Verified"), ("reject", "Rejected")]),
        validators=[DataRequired("Choose verified or rejected.")],
    )
    note = StringField("Note", filters=[strip_text], validators=[Length(max=500), SingleLine()])
    # Shown for an applicant who joins with the application: confirming records the new membership.
    member_number = StringField(
        "New member number", filters=[strip_text], validators=[Optional(), Length(max=40), SingleLine()]
    )
    expires_on = DayField("New membership expires on", validators=[Optional()], format="%Y-%m-%d")


class RoundForm(FlaskForm):
    """A new review round (pre-filled with the next calendar quarter)."""

    name = StringField(
        "Name",
        filters=[strip_text],
        validators=[DataRequired("Name the round."), Length(max=80), SingleLine()],
    )
    opens_on = DayField("Opens on", validators=[DataRequired("Give the day the round opens.")])
    submission_deadline = DayField(
        "Submission deadline", validators=[DataRequired("Give the last day to submit for this round.")]
    )
    review_due = DayField("Reviews due", validators=[DataRequired("Give the day the reviews are due.")])


class AssignForm(FlaskForm):
    """Assign a reviewer to a file by hand (the choices are the active reviewers)."""

    # Any account id is taken in: the service says why one cannot be assigned (conflict, inactive, …).
    reviewer = SelectField("Reviewer", validate_choice=False, validators=[DataRequired("Choose a reviewer.")])


class RecuseForm(FlaskForm):
    reason = StringField(
        "Why you cannot review this file",
        filters=[strip_text],
        validators=[DataRequired("Say why you cannot review this file."), Length(max=500), SingleLine()],
    )


class RequirementVerdictForm(FlaskForm):
    """A verdict on one requirement (one form per requirement on the file page, prefixed by its key)."""

    verdict = RadioField(
        "Verdict",
        choices=choices((v.value, v.label) for v in Verdict),
        validators=[DataRequired("Choose verified, not verified or needs more.")],
    )
    reason = TextAreaField(
        "Reason (needed unless verified; the applicant reads it)",
        filters=[strip_text],
        validators=[Length(max=REASON_MAX), Paragraphs()],
    )
    # The version of the current verdict the page showed (0: none): a verdict from an older page is refused.
    version = HiddenField(default="0")
