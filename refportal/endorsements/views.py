"""The endorsee's pages: their choices for the public registry, giving an endorsement up, and the
reinstatement of a lapsed endorsement."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.applications.fees import fee_breakdown
from refportal.endorsements import reinstatement, services, withdrawals
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
    endorsement = services.held_endorsement(current_user, number)
    if endorsement is None:
        abort(404)  # another's endorsement, or an unknown number, is named to no one but its holder
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


@bp.route("/<number>/reinstate", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def reinstate(number: str):
    """A lapsed endorsement's reinstatement: what it takes (new experience, three new reference ratings,
    the fees again), and the button that opens its application. Someone else's endorsement, or an
    unknown number, is not found."""
    endorsement = _held_or_404(number)
    form = ActionForm()
    if form.validate_on_submit():
        done, application = attempt_on_form(
            form, reinstatement.open_reinstatement, endorsement=endorsement, actor=current_user
        )
        if done and application is not None:
            flash_success(
                f"The reinstatement of {endorsement.number} is open. Next: record your eligibility and membership."
            )
            return redirect(url_for("submission.application_page", application_id=application.id))
    schedule = current_app.config["FEE_SCHEDULE"]
    fee = int(current_app.config["ENDORSEMENT_REINSTATEMENT_FEE"])
    return render_template(
        "endorsements/reinstate.html",
        endorsement=endorsement,
        form=form,
        refusal=reinstatement.why_not_reinstatable(endorsement),
        open_application=reinstatement.open_reinstatement_of(endorsement),
        fees=fee_breakdown(
            schedule=schedule, category=endorsement.category, membership_fee_due=True, reinstatement_fee=fee
        ),
        member_fees=fee_breakdown(
            schedule=schedule, category=endorsement.category, membership_fee_due=False, reinstatement_fee=fee
        ),
    )
