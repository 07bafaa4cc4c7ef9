from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, Response, redirect, render_template, url_for
from flask_login import current_user

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.applications.views import owned_application
from refportal.db import utc_today
from refportal.membership.forms import MembershipForm, RosterForm
from refportal.membership.models import Association, MembershipDeclaration, MembershipKind
from refportal.membership.roster import RosterInvalid, import_roster, parse_roster
from refportal.membership.services import declare_membership
from refportal.security.headers import mark_no_store
from refportal.web import attempt_on_form, flash_success

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
        done, _ = attempt_on_form(
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
            return redirect(url_for("submission.application_page", application_id=application.id))
    return render_template("membership/declare.html", application=application, form=form)


@bp.route("/admin/roster", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def roster():
    """Upload the association's roster: matching declarations become verified; a report follows."""
    form = RosterForm()
    report = problems = None
    if form.validate_on_submit():
        try:
            rows = parse_roster(form.roster.data.read().decode("utf-8-sig"))
        except UnicodeDecodeError:
            problems = [(0, "the file is not UTF-8 text")]
        except RosterInvalid as invalid:
            problems = invalid.problems
        else:
            report = import_roster(rows=rows, actor=current_user, today=utc_today())
    return mark_no_store(
        Response(render_template("membership/roster.html", form=form, report=report, problems=problems))
    )
