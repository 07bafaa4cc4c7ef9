"""Administration: staff invitations, roles, deactivation."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, redirect, render_template, url_for
from flask_login import current_user

from refportal.accounts import services
from refportal.accounts.admin_forms import ActiveForm, InviteForm, RoleForm
from refportal.accounts.models import Role, User
from refportal.accounts.permissions import role_required
from refportal.extensions import db
from refportal.security.headers import mark_no_store
from refportal.web import attempt_and_flash, attempt_on_form, flash_success

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.after_request
def _private(response: Response) -> Response:
    return mark_no_store(response)


def _users_page(invite_form=None, status=200):
    users = db.session.scalars(sa.select(User).order_by(User.role, User.name).limit(1000)).all()
    body = render_template(
        "admin/users.html",
        users=users,
        invite_form=invite_form or InviteForm(),
        role_form=RoleForm,
        active_form=ActiveForm(),
    )
    return Response(body, status)


@bp.get("/users")
@role_required(Role.ADMIN)
def users():
    """Every account, with its role and whether it is active; the invitation form."""
    return _users_page()


@bp.post("/users/invite")
@role_required(Role.ADMIN)
def invite():
    """Invite a reviewer or administrator by e-mail."""
    form = InviteForm()
    if form.validate_on_submit():
        done, _ = attempt_on_form(
            form,
            services.invite_staff,
            email=form.email.data,
            name=form.name.data,
            role=Role(form.role.data),
            organisation=form.organisation.data or None,
            actor=current_user,
        )
        if done:
            flash_success(f"{form.name.data} is invited; the e-mail with their link is on its way.")
            return redirect(url_for("admin.users"))
    return _users_page(form, 400)


def _account(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _account_action(action, success: str):
    attempt_and_flash(action, success)
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/role")
@role_required(Role.ADMIN)
def change_role(user_id: int):
    """Give an account another role."""
    user = _account(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    return _account_action(
        lambda: services.change_role(user=user, role=Role(form.role.data), actor=current_user),
        f"{user.name} is now {form.role.data}.",
    )


@bp.post("/users/<int:user_id>/active")
@role_required(Role.ADMIN)
def set_active(user_id: int):
    """Deactivate or reactivate an account."""
    user = _account(user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    active = form.active.data == "1"
    return _account_action(
        lambda: services.set_active(user=user, active=active, actor=current_user),
        f"{user.name} is {'reactivated' if active else 'deactivated'}.",
    )
