"""Helpers every slice's views share: refusals on forms, safe redirects, role checks."""
from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import abort, flash
from flask_login import current_user, login_required

from refportal.accounts.models import Role
from refportal.exceptions import Refused
from refportal.extensions import db


def show_refusal(form, refusal: Refused) -> None:
    """Put a service's refusal on the field it names, or on the form as a whole."""
    field = getattr(form, refusal.field, None) if refusal.field else None
    if field is not None:
        field.errors = [*field.errors, refusal.message]
    else:
        form.form_errors.append(refusal.message)


def commit_service(form, service, /, **arguments):
    """Call a service for a valid form: commit and return (True, result), or roll back and show its refusal."""
    try:
        result = service(**arguments)
    except Refused as refusal:
        db.session.rollback()
        show_refusal(form, refusal)
        return False, None
    db.session.commit()
    return True, result


def run_and_flash(action, success: str) -> bool:
    """A one-button action: commit and flash `success`, or roll back and flash why it was refused."""
    try:
        action()
    except Refused as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return False
    db.session.commit()
    flash_success(success)
    return True


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after login, or None (no open redirects)."""
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def role_required(*roles: Role):
    """Logged-in users with one of `roles`; anyone else is told the page does not exist."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def flash_success(message: str) -> None:
    flash(message, "success")
