"""Session lifetimes: an idle limit and an absolute limit after login."""

from __future__ import annotations

import time

from flask import Flask, Request, current_app, flash, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user, logout_user

# Answer without reading or writing the session (health checks, machine hooks: no user, no cookie).
SESSIONLESS_BLUEPRINTS = frozenset({"health", "hooks", "registry"})
# Pages for anonymous traffic, cached by anyone: no session at all (a null session is never read from the
# cookie nor saved: no Set-Cookie and no Vary: Cookie, whoever asks).
SESSIONLESS_PATHS = ("/registry/",)
# The idle clock moves in steps of a minute: a page within a minute of the last step leaves the cookie as
# it is (no new signature, no Set-Cookie), and a session may end up to a minute before its idle limit.
CLOCK_STEP_SECONDS = 60


def start_session() -> None:
    """Called right after login: a fresh session with its clocks."""
    now = int(time.time())
    session["login_at"] = now
    session["seen_at"] = now


class SessionlessPathsInterface(SecureCookieSessionInterface):
    """The signed-cookie session everywhere but under SESSIONLESS_PATHS."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(SESSIONLESS_PATHS):
            return self.make_null_session(app)
        return super().open_session(app, request)


def install_session_lifetimes(app: Flask) -> None:
    app.session_interface = SessionlessPathsInterface()

    @app.before_request
    def _expire_old_sessions() -> None:
        if request.blueprint in SESSIONLESS_BLUEPRINTS or not current_user.is_authenticated:
            return
        now = int(time.time())
        idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
        absolute = current_app.config["SESSION_ABSOLUTE_HOURS"] * 3600
        if now - session.get("seen_at", 0) > idle or now - session.get("login_at", 0) > absolute:
            logout_user()
            session.clear()
            flash("Your session has ended. Please log in again.", "info")
            return
        if now - session.get("seen_at", 0) >= CLOCK_STEP_SECONDS:
            session["seen_at"] = now
