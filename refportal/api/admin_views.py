"""Administration of the API: keys (shown once, revocable, with their last use) and webhook endpoints
(secret shown once, delivery log, enable after being disabled, delete)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.api import keys, webhooks
from refportal.api.forms import EndpointForm, KeyForm
from refportal.api.models import ApiKey, Scope, WebhookEndpoint
from refportal.extensions import db
from refportal.forms import ActionForm
from refportal.security.headers import mark_no_store
from refportal.web import attempt_and_flash, attempt_on_form

bp = Blueprint("api_admin", __name__, url_prefix="/admin/api")


@bp.after_request
def _private(response: Response) -> Response:
    return mark_no_store(response)


def _page(*, key_form: KeyForm | None = None, endpoint_form: EndpointForm | None = None, shown=None, status=200):
    """The API page; `shown` is a just-created secret (key or endpoint secret), shown in this answer only."""
    body = render_template(
        "admin/api.html",
        keys=keys.all_keys(),
        endpoints=webhooks.endpoints(),
        key_form=key_form or KeyForm(),
        endpoint_form=endpoint_form or EndpointForm(),
        action_form=ActionForm(),
        shown=shown,
        events=sorted(set(webhooks.EVENTS.values())),
    )
    return Response(body, status)


@bp.get("/")
@role_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    return _page()


@bp.post("/keys")
@role_required(Role.ADMIN)
def create_key() -> ResponseReturnValue:
    """A new key; its value is on this page once and never again."""
    form = KeyForm()
    if form.validate_on_submit():
        done, created = attempt_on_form(
            form,
            keys.create_key,
            name=form.name.data,
            scopes=[Scope(value) for value in form.scopes.data or []],
            actor=current_user,
        )
        if done and created is not None:
            key, value = created
            return _page(shown={"what": f"API key “{key.name}”", "value": value})
    return _page(key_form=form, status=400)


@bp.post("/keys/<int:key_id>/revoke")
@role_required(Role.ADMIN)
def revoke_key(key_id: int) -> ResponseReturnValue:
    key = db.session.get(ApiKey, key_id)
    if key is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    attempt_and_flash(lambda: keys.revoke_key(key=key, actor=current_user), f"The key {key.name} is revoked.")
    return redirect(url_for("api_admin.index"))


@bp.post("/webhooks")
@role_required(Role.ADMIN)
def register_endpoint() -> ResponseReturnValue:
    form = EndpointForm()
    if form.validate_on_submit():
        done, created = attempt_on_form(form, webhooks.register_endpoint, url=form.url.data or "", actor=current_user)
        if done and created is not None:
            endpoint, secret = created
            return _page(shown={"what": f"signing secret of {endpoint.url}", "value": secret})
    return _page(endpoint_form=form, status=400)


def _endpoint_or_404(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.deleted_at is not None:
        abort(404)
    return endpoint


@bp.get("/webhooks/<int:endpoint_id>")
@role_required(Role.ADMIN)
def endpoint(endpoint_id: int) -> ResponseReturnValue:
    """One endpoint and its last 50 deliveries."""
    found = _endpoint_or_404(endpoint_id)
    return render_template(
        "admin/webhook.html", endpoint=found, deliveries=webhooks.deliveries_of(found), action_form=ActionForm()
    )


@bp.post("/webhooks/<int:endpoint_id>/enable")
@role_required(Role.ADMIN)
def enable_endpoint(endpoint_id: int) -> ResponseReturnValue:
    found = _endpoint_or_404(endpoint_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    attempt_and_flash(lambda: webhooks.enable(endpoint=found, actor=current_user), "The endpoint is enabled again.")
    return redirect(url_for("api_admin.endpoint", endpoint_id=found.id))


@bp.post("/webhooks/<int:endpoint_id>/delete")
@role_required(Role.ADMIN)
def delete_endpoint(endpoint_id: int) -> ResponseReturnValue:
    found = _endpoint_or_404(endpoint_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    attempt_and_flash(lambda: webhooks.delete(endpoint=found, actor=current_user), "The endpoint is deleted.")
    return redirect(url_for("api_admin.index"))
