"""The landing page."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user

from refportal.applications.categories import CATEGORIES, CATEGORY_NAMES, Credential

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """What the portal is for; logged-in people go straight to their dashboard."""
    if current_user.is_authenticated:
        return redirect(url_for("submission.dashboard"))
    return render_template(
        "index.html",
        categories=[(n, CATEGORY_NAMES[Credential.IMH_E][n], CATEGORY_NAMES[Credential.ECMH_E][n]) for n in CATEGORIES],
        association_name=current_app.config["ASSOCIATION_NAME"],
    )
