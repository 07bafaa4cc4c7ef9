"""Checks that stop a production portal from starting in a state that would misbehave, each with a
message that says what to do; and warnings for settings that work but not as an operator expects."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import Flask

from refportal.config import ConfigurationError
from refportal.i18n import DEFAULT_LANGUAGE, LANGUAGES
from refportal.resources import MIGRATIONS_FOLDER, compiled_catalogue

log = logging.getLogger("refportal.startup")


def migration_heads() -> set[str]:
    """The revisions the code expects the database to be at."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_FOLDER))
    return set(ScriptDirectory.from_config(config).get_heads())


def database_revisions(connection: sa.Connection) -> set[str]:
    """The revisions recorded in the database (none for an empty one)."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return set()
    return set(connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def schema_problem(connection: sa.Connection, heads: set[str]) -> str | None:
    """Why the database's schema is not the one the code needs, or None."""
    current = database_revisions(connection)
    if current == heads:
        return None
    return (
        f"the database schema is at revision {', '.join(sorted(current)) or '(none: an empty database)'}, "
        f"the code needs {', '.join(sorted(heads))}"
    )


def check_catalogues() -> None:
    """Every language the referee can choose has its compiled catalogue (else pages fall back to English)."""
    missing = [code for code in LANGUAGES if code != DEFAULT_LANGUAGE and not compiled_catalogue(code).is_file()]
    if missing:
        raise ConfigurationError(
            f"No compiled message catalogue for {', '.join(missing)} ({compiled_catalogue(missing[0])}): referee "
            "pages would silently be in English. Install the portal from its wheel (pip install refportal-*.whl), "
            "or compile the catalogues in a checkout with `pybabel compile -d refportal/translations`."
        )


def check_schema(app: Flask) -> None:
    """Refuse to serve on a database whose schema is behind (or ahead of) the migrations. An unreachable
    database is not refused here: it may come up later, and /readyz reports it meanwhile."""
    from refportal.extensions import db

    with app.app_context():
        try:
            with db.engine.connect() as connection:
                problem = schema_problem(connection, migration_heads())
        except sa.exc.OperationalError as exc:
            log.warning("database unreachable at start-up, schema not checked: %s", str(exc).splitlines()[0])
            return
        finally:
            db.engine.dispose()  # gunicorn forks after this: no pooled connection may cross the fork
    if problem:
        raise ConfigurationError(f"Refusing to start: {problem}. Run `flask --app refportal db upgrade` first.")


def warn_about_settings(app: Flask) -> None:
    if app.config["RATELIMIT_STORAGE_URI"].startswith("memory://") and app.config["RATELIMIT_ENABLED"]:
        log.warning(
            "RATELIMIT_STORAGE_URI is memory://: rate limits are counted per process, so each gunicorn worker "
            "allows the full limit. Set RATELIMIT_STORAGE_URI=redis://HOST:6379/0 to share them."
        )
    if app.config["PROXY_COUNT"] == 0:
        log.warning(
            "PROXY_COUNT is 0: behind a reverse proxy every client looks like the proxy (one shared rate limit) "
            "and HTTPS is not recognised. Set PROXY_COUNT=1 behind nginx."
        )


def run_production_checks(app: Flask, *, serving: bool) -> None:
    """In production: catalogues always; the schema when the app is about to serve (not for `db upgrade`)."""
    if app.config["ENV_NAME"] != "production":
        return
    check_catalogues()
    warn_about_settings(app)
    if serving:
        check_schema(app)
