"""Staff's forms on the fee ledger: the outstanding list's filters (a GET form), and a payment
received, a waiver, a refund (each posted with its CSRF token). The amounts are read as text and
turned into cents by the services (refportal.payments.ledger.amount_in_cents), which say what is wrong."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional

from refportal.forms import DayField, OptionalChoice, SelectField, WholeNumber, choices, strip_text
from refportal.payments.models import PaymentMethod, WaiverKind

STAFF_METHODS = [m for m in PaymentMethod if m is not PaymentMethod.CARD]


class FeesFilterForm(Form):
    """The outstanding list's filters, read from the query string (nothing changes: no CSRF)."""

    balance = SelectField(
        "Balance",
        choices=choices(
            [("owed", "Owed (balance above zero)"), ("credit", "In credit (to refund)"), ("all", "All with activity")]
        ),
        validators=[OptionalChoice()],
    )
    kind = SelectField(
        "For",
        choices=choices([("", "Applications and renewals"), ("application", "Applications"), ("renewal", "Renewals")]),
        validators=[OptionalChoice()],
    )
    page = WholeNumber("Page", default=1, validators=[Optional(), NumberRange(1, 100_000)])


class AmountForm(FlaskForm):
    amount = StringField(
        "Amount", filters=[strip_text], description="In currency units, e.g. 25.00 (at most two decimals)."
    )


class PaymentForm(AmountForm):
    method = SelectField(
        "Paid by",
        choices=choices([(m.value, m.label) for m in STAFF_METHODS]),
        validators=[InputRequired("Choose how it was paid.")],
    )
    reference = StringField(
        "Reference",
        filters=[strip_text],
        description="The cheque's or purchase order's number, the transfer's reference.",
    )
    received_on = DayField("Date received", validators=[Optional()])
    as_credit = BooleanField("If it is more than is owed, record the rest as a credit (owed back to the payer)")


class WaiverForm(AmountForm):
    kind = SelectField(
        "Kind",
        choices=choices([(k.value, k.label) for k in WaiverKind]),
        validators=[InputRequired("Choose a waiver or a scholarship.")],
    )
    reason = TextAreaField(
        "Reason", filters=[strip_text], description="For staff: the payer sees only the kind and the amount."
    )


class RefundForm(AmountForm):
    payment = SelectField("Payment", choices=[], validate_choice=False)
    reason = TextAreaField("Reason", filters=[strip_text], description="The payer reads it in the refund notice.")
