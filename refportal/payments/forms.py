"""The payer's one form: the pay button (the amount is never in it: the ledger says what is owed)."""

from __future__ import annotations

from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf

from refportal.forms import ActionForm


class PayForm(ActionForm):
    """The pay button, with the page the payer pressed it on (Stripe's "back" link returns there;
    only a path of this site is taken)."""

    came_from = HiddenField()
    # Which button: the whole balance (empty, or "balance"), or only the application fee.
    part = StringField(validators=[AnyOf(("", "balance", "application_fee"))], default="")
