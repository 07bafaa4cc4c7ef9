"""The payer's one form: the pay button (the amount is never in it: the ledger says what is owed)."""

from __future__ import annotations

from wtforms import HiddenField

from refportal.forms import ActionForm


class PayForm(ActionForm):
    """The pay button, with the page the payer pressed it on (Stripe's "back" link returns there;
    only a path of this site is taken)."""

    came_from = HiddenField()
