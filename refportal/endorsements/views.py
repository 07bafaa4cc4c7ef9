"""The endorsee's pages: their choices for the public registry, and giving an endorsement up."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.endorsements import services, staff_list, withdrawals
from refportal.endorsements.forms import ListingForm
from refportal.endorsements.lifecycle import Event, allows
from refportal.endorsements.models import Endorsement
from refportal.forms import ActionForm
from refportal.web import attempt_and_flash, attempt_on_form, flash_success

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


def _held_or_404(number: str) -> Endorsement:
    endorsement = staff_list.endorsement_by_number(number)
    if endorsement is None or endorsement.holder_id != current_user.id:
        abort(404)  # another's endorsement is named to no one but its holder
    return endorsement


@bp.route("/<number>/relinquish", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def relinquish(number: str):
    """The holder gives their endorsement up (asked to confirm first)."""
    endorsement = _held_or_404(number)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        done = attempt_and_flash(
            lambda: withdrawals.relinquish(endorsement, holder=current_user),
            f"You have given up {endorsement.number}; it has left the public registry.",
        )
        if done:
            return redirect(url_for("submission.dashboard"))
    return render_template(
        "endorsements/relinquish.html",
        endorsement=endorsement,
        form=form,
        allowed=allows(endorsement, Event.RELINQUISH),
    )
