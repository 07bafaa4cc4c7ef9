from __future__ import annotations

from flask import Blueprint, current_app, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from refportal.accounts import services
from refportal.accounts.forms import (
    AccountSettingsForm,
    ConfirmEmailForm,
    LoginForm,
    PasswordResetForm,
    PasswordResetRequestForm,
    RegistrationForm,
)
from refportal.extensions import limiter
from refportal.i18n import LANGUAGES
from refportal.security.headers import mark_no_store
from refportal.security.sessions import start_session
from refportal.security.tokens import TokenExpired, TokenInvalid
from refportal.web import attempt_on_form, flash_success, safe_next

bp = Blueprint("accounts", __name__)


def _submitted_email() -> str:
    """The rate-limit key for one account: the address typed into the form."""
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def register():
    """Create an applicant account and send the verification link (the same answer for a known address)."""
    if current_user.is_authenticated:
        return redirect(url_for("submission.dashboard"))
    form = RegistrationForm()
    if form.validate_on_submit():
        done, _ = attempt_on_form(
            form,
            services.register_user,
            name=form.name.data,
            email=form.email.data,
            password=form.password.data,
            language=form.language.data,
        )
        if done:
            return render_template("accounts/check_email.html", email=form.email.data)
    return render_template("accounts/register.html", form=form)


@bp.route("/verify-email/<token>", methods=["GET", "POST"])
def verify_email(token: str):
    """The e-mailed verification link: GET shows a button, the POST verifies (mail scanners only GET)."""
    form = ConfirmEmailForm()
    try:
        if form.validate_on_submit():
            services.verify_email(token=token)
            flash_success("Thank you: your e-mail address is verified. You can log in now.")
            return redirect(url_for("accounts.login"))
        services.check_verification_token(token=token)
    except TokenExpired:
        return mark_no_store(_page("accounts/link_problem.html", 410, problem="expired", what="verification"))
    except TokenInvalid:
        return mark_no_store(_page("accounts/link_problem.html", 400, problem="invalid", what="verification"))
    return mark_no_store(_page("accounts/confirm_email.html", 200, form=form))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], key_func=_submitted_email, methods=["POST"])
def login():
    """Log in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("submission.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(email=form.email.data, password=form.password.data)
        if user is None:
            form.form_errors.append("That e-mail address and password do not match an account.")
        elif not user.is_active:
            form.form_errors.append("This account is deactivated. Please contact the association.")
        elif not user.is_verified:
            services.send_verification_email(user=user)
            form.form_errors.append(
                "Your e-mail address is not verified yet. We have sent you a new verification link."
            )
        else:
            session.clear()
            login_user(user)
            start_session()
            return redirect(safe_next(request.args.get("next")) or url_for("submission.dashboard"))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """End the session, and every other session of the account."""
    services.end_sessions(user=current_user)
    logout_user()
    session.clear()
    flash_success("You are logged out.")
    return redirect(url_for("main.index"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def settings():
    """The account page: the language of the e-mails about the account's endorsement."""
    form = AccountSettingsForm(language=current_user.language)
    if form.validate_on_submit():
        done, changed = attempt_on_form(form, services.set_language, user=current_user, language=form.language.data)
        if done:
            name = LANGUAGES[form.language.data]
            flash_success(
                f"Your endorsement e-mails will be in {name}."
                if changed
                else f"Your endorsement e-mails stay in {name}."
            )
            return redirect(url_for("accounts.settings"))
    return render_template("accounts/settings.html", form=form)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@limiter.limit("5 per hour", key_func=_submitted_email, methods=["POST"])
def forgot_password():
    """Ask for a password reset link."""
    form = PasswordResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(email=form.email.data)
        return render_template("accounts/check_email.html", email=form.email.data, reset=True)
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password through the e-mailed link."""
    return _choose_password(token, "password-reset", "reset", "Your password is changed. Log in with the new one.")


@bp.route("/welcome/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """A staff invitation: choose a password to start."""
    return _choose_password(token, "account-invite", "invitation", "Welcome: your password is set. Log in to start.")


def _choose_password(token: str, purpose: str, what: str, success: str):
    try:
        user = services.user_for_reset_token(token, purpose)
    except TokenExpired:
        return mark_no_store(_page("accounts/link_problem.html", 410, problem="expired", what=what))
    except TokenInvalid:
        return mark_no_store(_page("accounts/link_problem.html", 400, problem="invalid", what=what))
    form = PasswordResetForm(account_email=user.email)
    if form.validate_on_submit():
        done, _ = attempt_on_form(
            form, services.reset_password, token=token, password=form.password.data, purpose=purpose
        )
        if done:
            flash_success(success)
            return redirect(url_for("accounts.login"))
    return mark_no_store(_page("accounts/reset_password.html", 200, form=form))


def _page(template: str, status: int, **context):
    return make_response(render_template(template, **context), status)
