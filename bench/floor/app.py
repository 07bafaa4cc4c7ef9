"""The same-page floor: for every key page of the benchmark, the least a Flask app must do to answer
with the same HTML bytes for the same data. Plain Flask (no extensions): its signed cookie session (the
one refportal's cookie is, so one login serves both apps), SQLAlchemy Core with at most the statements
refportal's page issues, and one template per page, compiled when the app starts. What refportal spends
beyond this is its own stack: hooks, ORM, forms, template inheritance and macros.

Served by gunicorn as `floor.app:create()` from bench/ (FLOOR_DATABASE_URL, FLOOR_SECRET_KEY)."""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask

import refportal.models  # noqa: F401 - every model mapped before a page's module builds its statements
from floor import pages as pages_module


def create(database_url: str | None = None, secret_key: str | None = None, pages: list | None = None) -> Flask:
    app = Flask(__name__)
    app.secret_key = secret_key or os.environ["FLOOR_SECRET_KEY"]
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    url = database_url or os.environ["FLOOR_DATABASE_URL"]
    # refportal's production pool settings (refportal/config.py): pre-ping and recycle.
    app.extensions["floor.engine"] = sa.create_engine(url, pool_pre_ping=True, pool_recycle=1800)
    served = pages_module.ALL if pages is None else pages
    for page in served:
        page.register(app)
    # Each page's template, compiled now, not on the first request: its module's name, the same-page floor's
    # for a best-query floor (best_<page> draws <page>.html: the same bytes).
    for page in served:
        app.jinja_env.get_template(page.__name__.rsplit(".", 1)[-1].removeprefix("best_") + ".html")
    return app
