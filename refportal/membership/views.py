from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from refportal.accounts.models import Role
from refportal.applications.views import owned_application
from refportal.db import utc_today
from refportal.membership.forms import MembershipForm
from refportal.membership.models import Association, MembershipDeclaration, MembershipKind
from refportal.membership.services import declare_membership
from refportal.web import commit_service, flash_success, role_required

bp = Blueprint("membership", __name__)


def _form_data(declaration: MembershipDeclaration | None) -> SimpleNamespace | None:
    if declaration is None:
        return None
    return SimpleNamespace(
        kind=declaration.kind.value,
        association=declaration.association.value,
        association_name=declaration.association_name,
        member_number=declaration.member_number,
        expires_on=declaration.expires_on,
    )


@bp.route("/applications/<int:application_id>/membership", methods=["GET", "POST"])
@role_required(Role.APPLICANT)
def declare(application_id: int):
    """Declare a current membership, or say you will join."""
    application = owned_application(application_id)
    form = MembershipForm(obj=_form_data(application.membership))
    if form.validate_on_submit():
        done, _ = commit_service(
            form,
            declare_membership,
            application=application,
            actor=current_user,
            kind=MembershipKind(form.kind.data),
            association=Association(form.association.data) if form.association.data else None,
            association_name=form.association_name.data or None,
            member_number=form.member_number.data or None,
            expires_on=form.expires_on.data,
            today=utc_today(),
        )
        if done:
            flash_success("Membership saved.")
            return redirect(url_for("applications.show", application_id=application.id))
    return render_template("membership/declare.html", application=application, form=form)
