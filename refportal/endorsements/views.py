"""The endorsee's page: their endorsements and their choices for the public registry."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.endorsements import services
from refportal.endorsements.forms import ListingForm
from refportal.web import attempt_on_form, flash_success

bp = Blueprint("endorsements", __name__, url_prefix="/endorsements")


@bp.route("/registry-listing", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def listing():
    """Whether the endorsee is listed in the public registry, and whether their city or region shows."""
    held = services.endorsements_held_by(current_user)
    choices = services.listing_choices(current_user)
    form = ListingForm(data={"listed": choices.listed, "show_city": choices.show_city, "city": choices.city})
    if held and form.validate_on_submit():
        done, _ = attempt_on_form(
            form,
            services.save_listing_choices,
            holder=current_user,
            listed=form.listed.data,
            show_city=form.show_city.data,
            city=form.city.data,
        )
        if done:
            flash_success("Your registry choices are saved.")
            return redirect(url_for("endorsements.listing"))
    return render_template("endorsements/listing.html", form=form, held=held)
