"""Who may open a page: the role checks every slice's views share."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from refportal.accounts.models import Role


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
