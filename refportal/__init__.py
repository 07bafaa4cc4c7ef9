"""refportal: the reference ratings portal for the I/ECMH Endorsement."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask_babel import get_locale
from jinja2 import FileSystemBytecodeCache
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

# The package's submodules (refportal.mail, ...) share this namespace: reach extensions through it.
from refportal import extensions as ext
from refportal.config import load_config
from refportal.db import MAX_ID
from refportal.documents.uploads import install_upload_limits
from refportal.forms import draw
from refportal.logs import configure_logging, install_request_logging
from refportal.resources import MIGRATIONS_FOLDER, TEMPLATE_FOLDER, TRANSLATIONS_FOLDER
from refportal.transactions import install_request_transaction
from refportal.web import KeptUrls


def create_app(config: dict | None = None) -> Flask:
    """Build the portal: settings, extensions, blueprints, CLI commands and error pages.

    In production it refuses to start without compiled catalogues, and, when it is about to serve
    (not inside a `flask` command such as `db upgrade`), on a database whose schema is behind."""
    settings = load_config(config)
    configure_logging(settings["LOG_FORMAT"])
    app = Flask(__name__, template_folder=str(TEMPLATE_FOLDER), instance_path=settings["INSTANCE_PATH"])
    app.config.from_mapping(settings)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _configure_templates(app)  # before anything makes app.jinja_env
    app.url_map.converters["int"] = DatabaseId
    if app.config["PROXY_COUNT"]:
        hops = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    install_request_logging(app)
    _init_extensions(app)
    _load_rules(app)
    _register_blueprints(app)
    install_request_transaction(app)  # one commit per request (refportal.transactions)
    install_upload_limits(app)  # pages that take a document accept a larger body
    _register_cli(app)

    from refportal.errors import install_error_pages
    from refportal.security.headers import install_security_headers
    from refportal.security.sessions import install_session_lifetimes

    _connect_signals(app)
    install_error_pages(app)
    install_security_headers(app)
    install_session_lifetimes(app)
    app.jinja_env.globals["portal_name"] = app.config["PORTAL_NAME"]
    app.jinja_env.globals["hidden_fields"] = hidden_fields
    app.jinja_env.globals["draw"] = draw
    kept_urls = KeptUrls()
    app.jinja_env.globals["fixed_url"] = kept_urls.fixed
    app.jinja_env.globals["id_url"] = kept_urls.with_id
    app.jinja_env.globals["get_locale"] = get_locale
    _install_ledger_helpers(app)

    from refportal.startup import run_production_checks

    run_production_checks(app, serving=click.get_current_context(silent=True) is None)
    return app


TEMPLATE_CACHE_FOLDER = "template-cache"  # in the instance folder


def _configure_templates(app: Flask) -> None:
    """Each template is compiled once per worker and kept (Jinja's cache holds more templates than there
    are; re-read from disk only when debugging: Flask's auto_reload). In production the compiled code is
    also kept in the instance folder (Jinja's FileSystemBytecodeCache, keyed by the source's checksum),
    so a new worker loads it instead of compiling every template again."""
    if app.config["ENV_NAME"] != "production":
        return
    folder = Path(app.instance_path) / TEMPLATE_CACHE_FOLDER
    folder.mkdir(exist_ok=True)
    app.jinja_options = {**app.jinja_options, "bytecode_cache": FileSystemBytecodeCache(str(folder))}


def _install_ledger_helpers(app: Flask) -> None:
    """Amounts in cents as money ({{ cents | money(currency) }}) and an account's statement in templates."""
    from refportal.payments.ledger import money, statement_of

    app.jinja_env.filters["money"] = money
    app.jinja_env.globals["statement_of"] = statement_of


class DatabaseId(IntegerConverter):
    """`<int:…>` in every route: a number a database id can be (a larger one matches no route: 404,
    rather than an error from the database)."""

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = None, max: int | None = None) -> None:
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=MAX_ID if max is None else max)


def hidden_fields(form) -> Markup:
    """A form's hidden fields (the CSRF token among them) without ids, so several forms on one page
    do not repeat an id."""
    return Markup("").join(
        draw(field, id=False) for field in form if getattr(field.widget, "input_type", None) == "hidden"
    )


def _init_extensions(app: Flask) -> None:
    import refportal.models  # noqa: F401  (complete metadata for Alembic)

    ext.db.init_app(app)
    ext.migrate.init_app(app, ext.db, directory=str(MIGRATIONS_FOLDER), compare_type=True, render_as_batch=True)
    ext.mail.init_app(app)
    ext.csrf.init_app(app)
    ext.limiter.init_app(app)
    from refportal.i18n import install_translations, select_locale

    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_FOLDER))
    ext.babel.init_app(app, locale_selector=select_locale)
    install_translations(app)  # each message translated once per language
    ext.login_manager.init_app(app)
    ext.login_manager.login_view = "accounts.login"
    ext.login_manager.login_message = "Please log in to see this page."
    ext.login_manager.login_message_category = "info"
    ext.login_manager.session_protection = "basic"

    from refportal.accounts.services import signed_in_user

    # Deactivated, logged out elsewhere, or the password changed: no one.
    ext.login_manager.user_loader(signed_in_user)


def _load_rules(app: Flask) -> None:
    """Rules kept as data in the settings, checked once at start-up."""
    from refportal.config import ConfigurationError
    from refportal.references.roles import rules_from_settings

    try:
        app.extensions["refportal.role_rules"] = rules_from_settings(app.config["REFEREE_ROLE_RULES"])
    except ValueError as exc:
        raise ConfigurationError(f"REFEREE_ROLE_RULES_JSON: {exc}") from exc
    from refportal.payments.ledger import cents

    schedule = app.config["FEE_SCHEDULE"]
    fees = {
        f"FEE_SCHEDULE_JSON {kind} {category}": schedule[kind][category]
        for kind in ("membership", "application", "processing")
        for category in schedule[kind]
    }
    for name in ("ENDORSEMENT_RENEWAL_FEE", "ENDORSEMENT_RENEWAL_LATE_FEE", "ENDORSEMENT_REINSTATEMENT_FEE"):
        fees[name] = app.config[name]
    for name, value in fees.items():
        try:
            cents(value)
        except ValueError as exc:
            raise ConfigurationError(f"{name}: {exc}") from exc


def _register_blueprints(app: Flask) -> None:
    from refportal import health, main
    from refportal.accounts.admin_views import bp as admin_bp
    from refportal.accounts.views import bp as accounts_bp
    from refportal.api.admin_views import bp as api_admin_bp
    from refportal.api.views import install_api
    from refportal.applications.document_views import bp as application_documents_bp
    from refportal.applications.views import bp as applications_bp
    from refportal.documents.admin_views import bp as document_admin_bp
    from refportal.endorsements.registry_views import bp as registry_bp
    from refportal.endorsements.renewal_review_views import bp as renewal_review_bp
    from refportal.endorsements.renewal_views import bp as renewal_bp
    from refportal.endorsements.staff_views import bp as staff_endorsements_bp
    from refportal.endorsements.views import bp as endorsements_bp
    from refportal.mail.hooks import install_hooks
    from refportal.mail.views import viewer_bp
    from refportal.mail_console.views import bp as mail_console_bp
    from refportal.membership.views import bp as membership_bp
    from refportal.payments.staff_views import bp as payments_staff_bp
    from refportal.payments.views import bp as payments_bp
    from refportal.payments.webhooks import install_payment_hooks
    from refportal.references.printable import bp as blank_forms_bp
    from refportal.references.referee_views import bp as referee_bp
    from refportal.references.views import bp as references_bp
    from refportal.reviews.document_views import bp as documents_bp
    from refportal.reviews.file_documents import bp as file_documents_bp
    from refportal.reviews.paper_views import bp as paper_bp
    from refportal.reviews.round_views import bp as rounds_bp
    from refportal.reviews.views import bp as reviews_bp
    from refportal.submission.views import bp as submission_bp

    app.register_blueprint(health.bp)
    app.register_blueprint(main.bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(applications_bp)
    app.register_blueprint(application_documents_bp)
    app.register_blueprint(submission_bp)
    app.register_blueprint(endorsements_bp)
    app.register_blueprint(renewal_bp)
    app.register_blueprint(registry_bp)
    app.register_blueprint(staff_endorsements_bp)
    app.register_blueprint(renewal_review_bp)
    app.register_blueprint(membership_bp)
    app.register_blueprint(payments_staff_bp)
    app.register_blueprint(references_bp)
    app.register_blueprint(referee_bp)
    app.register_blueprint(blank_forms_bp)
    app.register_blueprint(reviews_bp)
    app.register_blueprint(paper_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(file_documents_bp)
    app.register_blueprint(rounds_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(document_admin_bp)
    install_hooks(app)
    app.register_blueprint(payments_bp)
    install_payment_hooks(app)
    app.register_blueprint(mail_console_bp)
    app.register_blueprint(api_admin_bp)
    install_api(app)
    if app.config["MAIL_VIEWER"]:
        app.register_blueprint(viewer_bp)


def _register_cli(app: Flask) -> None:
    from refportal.accounts.cli import create_user_command
    from refportal.demo import seed_demo_command
    from refportal.mail.cli import mail_cli
    from refportal.membership.cli import membership_cli
    from refportal.references.cli import references_cli
    from refportal.reviews.cli import reviews_cli
    from refportal.worker.cli import worker_command

    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(mail_cli)
    app.cli.add_command(references_cli)
    app.cli.add_command(reviews_cli)
    app.cli.add_command(membership_cli)
    app.cli.add_command(worker_command)


def _connect_signals(app: Flask) -> None:
    """Every reaction of one package to an event of a package below it, in one place (a package never
    imports one above it). weak=False: the receivers are plain functions; sender=app: each app its own."""
    from refportal.api.changes import move_changed_at
    from refportal.api.webhooks import queue_deliveries
    from refportal.applications import lifecycle
    from refportal.audit.services import recorded
    from refportal.endorsements.reinstatement import reuse_cutoff
    from refportal.endorsements.renewal_review import verify_renewals_on_roster
    from refportal.endorsements.services import issue_on_endorsement
    from refportal.mail.services import email_failed
    from refportal.membership.roster import roster_imported
    from refportal.references.closing import cancel_requests_of_closed_application
    from refportal.references.delivery import mark_bounced
    from refportal.reviews.progress import watch
    from refportal.reviews.rounds import join_round_on_submission

    # A message to a referee refused for good: the reference is bounced and the applicant told.
    email_failed.connect(mark_bounced, sender=app, weak=False)
    # A submitted application joins the review round covering the day.
    lifecycle.submitted.connect(join_round_on_submission, sender=app, weak=False)
    # A withdrawn or decided application: its open referee requests end.
    lifecycle.closed.connect(cancel_requests_of_closed_application, sender=app, weak=False)
    # An endorsed application: its endorsement record is issued (a number, the current period), or the
    # lapsed endorsement it reinstates is active again.
    lifecycle.closed.connect(issue_on_endorsement, sender=app, weak=False)
    # A roster imported: the memberships declared on open renewals that its rows confirm are verified.
    roster_imported.connect(verify_renewals_on_roster, sender=app, weak=False)
    # A rating to reuse for a reinstatement: none given before the endorsement lapsed.
    lifecycle.reuse_cutoff.connect(reuse_cutoff, sender=app, weak=False)
    # An audited change: the application's changed_at moves (API polling) and webhook deliveries queue.
    recorded.connect(move_changed_at, sender=app, weak=False)
    recorded.connect(queue_deliveries, sender=app, weak=False)
    # An application's status, round or review cycle changed, or its assignments or reviews (the session's
    # flushes): its round's stored progress moves before the transaction commits.
    watch()
