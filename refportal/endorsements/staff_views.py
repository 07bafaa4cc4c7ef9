"""Association staff's pages for endorsements: the list, one endorsement with its history, and revoking it."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.endorsements import staff_list, withdrawals
from refportal.endorsements.forms import RevokeForm, StaffEndorsementFilterForm
from refportal.endorsements.lifecycle import EndorsementStatus, Event, allows
from refportal.endorsements.models import Endorsement
from refportal.security.headers import mark_no_store
from refportal.web import attempt_on_form, flash_success

bp = Blueprint("staff_endorsements", __name__, url_prefix="/staff/endorsements")


@bp.after_request
def _private(response: Response) -> Response:
    return mark_no_store(response)


def _endorsement_or_404(number: str) -> Endorsement:
    endorsement = staff_list.endorsement_by_number(number)
    if endorsement is None:
        abort(404)
    return endorsement


@bp.get("/")
@role_required(Role.ADMIN)
def index():
    """Every endorsement, soonest period end first, filtered by status and name, e-mail or number."""
    form = StaffEndorsementFilterForm(request.args)
    form.validate()
    status = EndorsementStatus(form.status.data) if form.status.data and not form.status.errors else None
    query = form.q.data if not form.q.errors else ""
    page = staff_list.staff_page(
        query=query or "", status=status, after=staff_list.PageMark.decode(request.args.get("after"))
    )
    return render_template("endorsements/staff_list.html", form=form, page=page)


@bp.get("/<number>")
@role_required(Role.ADMIN)
def show(number: str):
    """One endorsement: its holder, period, status history and notices; revoking it."""
    endorsement = _endorsement_or_404(number)
    changes, notices = staff_list.history_of(endorsement)
    return render_template(
        "endorsements/staff_show.html",
        endorsement=endorsement,
        changes=changes,
        notices=notices,
        revoke_form=RevokeForm() if allows(endorsement, Event.REVOKE) else None,
    )


@bp.post("/<number>/revoke")
@role_required(Role.ADMIN)
def revoke(number: str):
    endorsement = _endorsement_or_404(number)
    form = RevokeForm()
    if form.validate_on_submit():
        done, _ = attempt_on_form(
            form, withdrawals.revoke, endorsement=endorsement, reason=form.reason.data, actor=current_user
        )
        if done:
            flash_success(f"{endorsement.number} is revoked; its holder is told.")
            return redirect(url_for("staff_endorsements.show", number=endorsement.number))
    changes, notices = staff_list.history_of(endorsement)
    body = render_template(
        "endorsements/staff_show.html", endorsement=endorsement, changes=changes, notices=notices, revoke_form=form
    )
    return Response(body, 422)
