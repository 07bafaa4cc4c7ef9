"""The staff mail console, in every environment: administrators read and resend; reviewers read."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from refportal.accounts.models import Role
from refportal.accounts.permissions import role_required
from refportal.extensions import db, limiter
from refportal.forms import ActionForm
from refportal.mail.models import OutboxEmail
from refportal.mail_console import services as console
from refportal.mail_console.forms import ConsoleFilterForm
from refportal.references.forms import CorrectEmailForm
from refportal.references.nomination import correct_email
from refportal.security.headers import mark_no_store
from refportal.transactions import attempt
from refportal.web import attempt_on_form, filter_args, flash_success

bp = Blueprint("mail_console", __name__, url_prefix="/staff/mail")
STAFF = (Role.REVIEWER, Role.ADMIN)
# The HTML part is shown in a sandboxed frame of the message page: nothing in it runs or loads.
HTML_PART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


@bp.after_request
def _private(response: Response) -> Response:
    return mark_no_store(response)


def _resender() -> str:
    """The rate-limit key for resends: the staff member."""
    return f"resend:{current_user.get_id() or request.remote_addr}"


def _filters(form: ConsoleFilterForm) -> console.ConsoleFilters:
    """The valid filters; a field with an error is left out (and its message shown)."""
    form.validate()

    def value(name: str) -> Any:
        field = getattr(form, name)
        return None if field.errors else field.data

    delivery = value("delivery")
    return console.ConsoleFilters(
        address=value("address") or "",
        delivery=console.Delivery(delivery) if delivery else None,
        queued_from=value("queued_from"),
        queued_to=value("queued_to"),
    )


@bp.get("/")
@role_required(*STAFF)
def messages() -> str:
    """Every message the portal has queued, newest first, filtered and paged."""
    form = ConsoleFilterForm(request.args)
    filters = _filters(form)
    page = form.page.data if not form.page.errors and form.page.data else 1
    listing = console.console_page(
        filters,
        page=page,
        per_page=current_app.config["MAIL_CONSOLE_PAGE_SIZE"],
        count_limit=current_app.config["QUEUE_COUNT_LIMIT"],
    )
    args = filter_args(form)
    return render_template("mail_console/messages.html", form=form, listing=listing, args=args)


def _email_or_404(email_id: int) -> OutboxEmail:
    email = db.session.get(OutboxEmail, email_id)
    if email is None:
        abort(404)
    return email


def _message_page(email: OutboxEmail, *, correct_form: CorrectEmailForm | None = None, status: int = 200) -> Response:
    reference = console.related_reference(email)
    redactor = console.redactor_for(email)
    reason = console.reason_of(email)
    body = render_template(
        "mail_console/message.html",
        email=email,
        subject=redactor.text(email.subject),
        delivery=console.delivery_of(email),
        reason=redactor.text(reason) if reason else None,
        text_body=console.hide_link_tokens(email.body_text, redactor),
        reference=reference,
        referee_name=redactor.text(reference.name) if reference is not None else None,
        may_correct=reference is not None and reference.can_correct_email and reference.application.is_active,
        action_form=ActionForm(),
        correct_form=correct_form or CorrectEmailForm(),
        can_resend=console.can_resend(email),
    )
    return Response(body, status)


@bp.get("/<int:email_id>")
@role_required(*STAFF)
def message(email_id: int) -> Response:
    """One message as sent (its secret links hidden), its delivery, and what staff can do about it."""
    return _message_page(_email_or_404(email_id))


@bp.get("/<int:email_id>/html")
@role_required(*STAFF)
def message_html(email_id: int) -> Response:
    """The HTML part, secrets hidden and links inert, for the message page's sandboxed frame."""
    email = _email_or_404(email_id)
    html = console.html_as_shown_to_staff(email.body_html, console.redactor_for(email))
    response = current_app.make_response(html)
    response.headers["Content-Security-Policy"] = HTML_PART_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.post("/<int:email_id>/resend")
@role_required(Role.ADMIN)
@limiter.limit(lambda: current_app.config["MAIL_RESEND_LIMIT"], key_func=_resender)
def resend(email_id: int) -> ResponseReturnValue:
    """Queue the same message again (audited); the copy is a new outbox row."""
    email = _email_or_404(email_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    outcome = attempt(lambda: console.resend(email=email, actor=current_user))
    if outcome.refusal is not None:
        flash(outcome.refusal.message, "error")
        return redirect(url_for("mail_console.message", email_id=email.id))
    copy = outcome.value
    assert copy is not None
    flash_success(f"The message is queued again for {email.to_address}.")
    return redirect(url_for("mail_console.message", email_id=copy.id))


@bp.post("/<int:email_id>/correct")
@role_required(Role.ADMIN)
def correct(email_id: int) -> ResponseReturnValue:
    """Correct the address of the referee this message is about: the old request is withdrawn and a
    new one is sent to the new address."""
    email = _email_or_404(email_id)
    reference = console.related_reference(email)
    if reference is None:
        abort(404)
    form = CorrectEmailForm()
    if form.validate_on_submit():
        done, corrected = attempt_on_form(
            form, correct_email, reference=reference, actor=current_user, email=form.email.data
        )
        if done and corrected is not None:
            flash_success(f"The address is corrected; a new request is on its way to {corrected.email}.")
            return redirect(url_for("mail_console.messages", address=corrected.email))
    return _message_page(email, correct_form=form, status=400)
