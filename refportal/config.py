"""Settings from the environment (a `.env` file is read first); one place for every default."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

# The checkout's top level (templates/ and migrations/ live there); an installed wheel carries them
# inside the package instead (see refportal.resources).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Values that must never sign anything outside development: the example file's dummy and the
# obvious placeholders.
PLACEHOLDER_SECRET_KEYS = frozenset(
    {"", "change-me", "dev", "secret", "changeme", "replace-me-with-a-long-random-string"}
)

ENVIRONMENTS = ("development", "test", "production")

# The seed's schedule (domain.md), in whole US dollars, by category.
DEFAULT_FEE_SCHEDULE = {
    "currency": "USD",
    "membership": {1: 50, 2: 50, 3: 50, 4: 50},
    "application": {1: 15, 2: 25, 3: 25, 4: 25},
    "processing": {1: 25, 2: 50, 3: 200, 4: 300},
}

# Eligibility thresholds per category (domain.md). `education` is the lowest level that counts;
# category 1 also accepts `alternative_work_years` of related work instead. A dict of hours by
# mentor track stands where the requirement differs per track.
DEFAULT_ELIGIBILITY_REQUIREMENTS = {
    1: {"education": "cda", "alternative_work_years": 2, "training_hours": 30, "rsc_hours": 0},
    2: {"education": "bachelor", "training_hours": 30, "rsc_hours": 24},
    3: {"education": "master", "training_hours": 30, "rsc_hours": 50},
    4: {
        "education": "master",
        "training_hours": 48,
        "rsc_hours": {"clinical": 50, "policy": 0, "research": 0},
    },
}


# What a year's renewal asks for, per category (domain.md, "After the decision"): training hours in the
# year, RSC hours received (a dict by mentor track where it differs), and for mentors endorsed
# `senior_after_years` or more, the lower `senior_rsc_hours`.
DEFAULT_RENEWAL_REQUIREMENTS = {
    1: {"training_hours": 15, "rsc_hours": 0},
    2: {"training_hours": 15, "rsc_hours": 12},
    3: {"training_hours": 15, "rsc_hours": 12},
    4: {
        "training_hours": 15,
        "rsc_hours": {"clinical": 12, "policy": 0, "research": 0},
        "senior_after_years": 3,
        "senior_rsc_hours": {"clinical": 10, "policy": 0, "research": 0},
    },
}

# The attestations a renewal may ask the endorsee to sign (ENDORSEMENT_RENEWAL_ATTESTATIONS picks them).
RENEWAL_ATTESTATIONS = {
    "code_of_ethics": "I have read the Code of Ethics again and I sign it for the coming year.",
    "no_sanction": "No licensing or certification board has sanctioned me or restricted my practice this year.",
}


# Who the three referees may and must be, per category (domain.md, "References"). Keys: category, or
# "4:<track>" for mentors; `offered` are the roles the applicant can choose, each `required` entry
# must be held by one of the three (each referee counts for one requirement).
_SUPERVISOR_OR_TEACHER = {
    "description": "your current program supervisor (or a teacher, trainer or consultant)",
    "roles": ["supervisor", "teacher_trainer"],
}
_RSC_PROVIDER = {"description": "your reflective supervision/consultation provider", "roles": ["rsc_provider"]}
_SUPERVISOR_OR_COLLEAGUE = {"description": "a supervisor or colleague", "roles": ["supervisor", "colleague"]}
DEFAULT_REFEREE_ROLE_RULES = {
    "1": {
        "offered": ["supervisor", "teacher_trainer", "colleague"],
        "required": [
            {"description": "a current teacher, mentor or supervisor", "roles": ["supervisor", "teacher_trainer"]}
        ],
    },
    "2": {
        "offered": ["supervisor", "teacher_trainer", "rsc_provider", "colleague"],
        "required": [_SUPERVISOR_OR_TEACHER, _RSC_PROVIDER],
    },
    "3": {
        "offered": ["supervisor", "teacher_trainer", "rsc_provider", "colleague", "supervisee"],
        "required": [_SUPERVISOR_OR_TEACHER, _RSC_PROVIDER],
    },
    "4:clinical": {
        "offered": ["supervisor", "colleague", "rsc_provider", "rsc_recipient"],
        "required": [
            _SUPERVISOR_OR_COLLEAGUE,
            _RSC_PROVIDER,
            {
                "description": "someone who receives reflective supervision/consultation from you",
                "roles": ["rsc_recipient"],
            },
        ],
    },
    "4:policy": {
        "offered": ["supervisor", "colleague", "teacher_trainer", "supervisee"],
        "required": [_SUPERVISOR_OR_COLLEAGUE],
    },
    "4:research": {
        "offered": ["supervisor", "colleague", "teacher_trainer", "supervisee"],
        "required": [_SUPERVISOR_OR_COLLEAGUE],
    },
}


class ConfigurationError(RuntimeError):
    """The settings do not allow the portal to start."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, raw: str | None, default: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}.") from exc


def _decimal(name: str, raw: str | None, default: str) -> Decimal:
    raw = (raw or "").strip() or default
    try:
        return Decimal(raw)
    except InvalidOperation as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}.") from exc


def _day_list(name: str, raw: str | None, default: tuple[int, ...]) -> tuple[int, ...]:
    if raw is None or raw.strip() == "":
        return default
    try:
        return tuple(sorted(int(part) for part in raw.split(",") if part.strip()))
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be whole numbers of days separated by commas, got {raw!r}.") from exc


def _attestations(name: str, raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return tuple(RENEWAL_ATTESTATIONS)
    keys = tuple(part.strip() for part in raw.split(",") if part.strip())
    unknown = [key for key in keys if key not in RENEWAL_ATTESTATIONS]
    if unknown:
        raise ConfigurationError(
            f"{name} names unknown attestations {', '.join(unknown)}; known: {', '.join(RENEWAL_ATTESTATIONS)}."
        )
    return keys


def _int_between(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    value = _int(name, raw, default)
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be between {low} and {high}, got {value}.")
    return value


def _choice(name: str, raw: str | None, default: str, choices: tuple[str, ...]) -> str:
    value = (raw or "").strip().lower() or default
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of: {', '.join(choices)} (got {raw!r}).")
    return value


def _json(name: str, raw: str | None, default: dict) -> dict:
    if not raw:
        return default
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{name} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigurationError(f"{name} must be a JSON object.")
    return value


def _json_by_category(name: str, raw: str | None, default: dict) -> dict:
    """A JSON setting whose category keys arrive as strings; they are turned back into numbers."""
    value = _json(name, raw, default)
    return default if value is default else _number_keys(value)


def _number_keys(obj: dict) -> dict:
    return {
        (int(k) if isinstance(k, str) and k.isdigit() else k): (_number_keys(v) if isinstance(v, dict) else v)
        for k, v in obj.items()
    }


def _environment(name: str, raw: str | None) -> str:
    env = (raw or "production").strip().lower()
    if env not in ENVIRONMENTS:
        raise ConfigurationError(f"{name} must be one of {', '.join(ENVIRONMENTS)}, got {env!r}.")
    return env


def _proxy_count(name: str, raw: str | None) -> int:
    raw = (raw or "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > 10:
        raise ConfigurationError(
            f"{name} must be the number of trusted reverse proxies in front of the portal (0 to 10), got {raw!r}."
        )
    return int(raw)


def _document_storage(name: str, raw: str | None) -> str:
    storage = (raw or "").strip().lower() or "filesystem"
    if storage not in ("database", "filesystem", "s3"):
        raise ConfigurationError(f"{name} must be database, filesystem or s3, got {storage!r}.")
    return storage


def _log_format(name: str, raw: str | None, env: str) -> str:
    value = (raw or "").strip().lower() or ("json" if env == "production" else "text")
    if value not in ("json", "text"):
        raise ConfigurationError(f"{name} must be json or text, got {value!r}.")
    return value


@dataclass(frozen=True)
class Context:
    """What a setting's default may depend on: the environment (REFPORTAL_ENV) and the instance folder."""

    env: str = "production"
    instance: Path = Path("instance")


Reader = Callable[[str, "str | None", Context], Any]


@dataclass(frozen=True)
class Setting:
    """One environment variable the portal reads: its name, what it holds, its default (as the docs show
    it), what it means, how it is read, and the application settings it fills (none: read where it is
    used, at start-up or by the database engine)."""

    name: str
    kind: str
    default: str
    description: str
    read: Reader
    keys: tuple[str, ...] = ()

    def value(self, context: Context) -> Any:
        """The setting as the portal uses it, read from the environment."""
        return self.read(self.name, os.environ.get(self.name), context)


def text(name: str, default: str, description: str, *, kind: str = "text") -> Setting:
    """Taken as written; the default only when the variable is not set at all."""
    shown = f"`{default}`" if default else "empty"
    return Setting(name, kind, shown, description, lambda _n, raw, _c: default if raw is None else raw, (name,))


def stripped(name: str, default: str, description: str, *, kind: str = "text") -> Setting:
    """Taken without surrounding spaces; the default when unset."""
    shown = f"`{default}`" if default else "empty"
    return Setting(name, kind, shown, description, lambda _n, raw, _c: default if raw is None else raw.strip(), (name,))


def optional(name: str, description: str, *, kind: str = "text", strip: bool = True) -> Setting:
    """Empty or unset: none."""

    def read(_name: str, raw: str | None, _context: Context) -> str | None:
        return ((raw or "").strip() if strip else raw) or None

    return Setting(name, kind, "empty", description, read, (name,))


def integer(name: str, default: int, description: str, *, shown: str = "") -> Setting:
    return Setting(
        name,
        "whole number",
        shown or str(default),
        description,
        lambda n, raw, _c: _int(n, raw, default),
        (name,),
    )


def engine_integer(name: str, default: int, description: str) -> Setting:
    """A database engine's setting, read by engine_options() (not an application setting)."""
    return Setting(name, "whole number", str(default), description, lambda n, raw, _c: _int(n, raw, default))


def boolean(name: str, default: bool, description: str, *, keys: tuple[str, ...] = ()) -> Setting:
    return Setting(
        name,
        "true/false",
        "true" if default else "false",
        description,
        lambda _n, raw, _c: _bool(raw, default=default),
        keys or (name,),
    )


def boolean_outside(
    name: str, environment: str, *, when: bool, description: str, keys: tuple[str, ...] = ()
) -> Setting:
    """A true/false setting whose default depends on REFPORTAL_ENV: `when` in `environment`, else the opposite."""
    shown = f"{'true' if when else 'false'} in {environment}, else {'false' if when else 'true'}"
    return Setting(
        name,
        "true/false",
        shown,
        description,
        lambda _n, raw, c: _bool(raw, default=(c.env == environment) == when),
        keys or (name,),
    )


def json_setting(name: str, key: str, default: dict, shown: str, description: str, *, by_category: bool) -> Setting:
    parse = _json_by_category if by_category else _json
    return Setting(name, "JSON object", shown, description, lambda n, raw, _c: parse(n, raw, default), (key,))


def _development_secret_key(instance_path: Path) -> str:
    """A random key kept in instance/ so development sessions and links survive a restart."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


_FLASK_LIMITER = "rate (Flask-Limiter)"

SECTIONS: tuple[tuple[str, tuple[Setting, ...]], ...] = (
    (
        "The portal",
        (
            Setting(
                "REFPORTAL_ENV",
                "development, test or production",
                "production",
                "Outside development a missing or placeholder SECRET_KEY stops the portal at start-up.",
                lambda n, raw, _c: _environment(n, raw),
            ),
            text(
                "SECRET_KEY",
                "",
                "Signs sessions and every e-mailed link: a long random value. In development a random key is "
                "kept in `instance/secret_key`.",
                kind="secret",
            ),
            Setting(
                "SECRET_KEY_FALLBACKS",
                "secrets, comma-separated",
                "empty",
                "Older keys still accepted for signed links and sessions during a key rotation.",
                lambda _n, raw, _c: [k.strip() for k in (raw or "").split(",") if k.strip()],
                ("SECRET_KEY_FALLBACKS",),
            ),
            Setting(
                "DATABASE_URL",
                "SQLAlchemy URL",
                "SQLite, `refportal.db` in the instance folder",
                "Where data lives, e.g. `postgresql+psycopg://user:pass@host/refportal` (`postgres://` and "
                "`postgresql://` are read as psycopg 3).",
                lambda _n, raw, c: raw or f"sqlite:///{c.instance / 'refportal.db'}",
                ("SQLALCHEMY_DATABASE_URI",),
            ),
            Setting(
                "REFPORTAL_INSTANCE_PATH",
                "folder",
                "`./instance`",
                "Folder for the SQLite database and the development secret key.",
                lambda _n, raw, _c: Path(raw or Path.cwd() / "instance").resolve(),
            ),
            Setting(
                "PORTAL_BASE_URL",
                "URL",
                "`http://127.0.0.1:5000`",
                "The external address: every link in e-mail is built on it, never on the request's Host header.",
                lambda _n, raw, _c: ("http://127.0.0.1:5000" if raw is None else raw).rstrip("/"),
                ("PORTAL_BASE_URL",),
            ),
            text("PORTAL_NAME", "refportal", "The portal's name in pages and e-mail."),
            text("ASSOCIATION_NAME", "INfancy Onward", "The endorsing association, named in pages and e-mail."),
            text(
                "ASSOCIATION_EMAIL",
                "endorsement@example.org",
                "The association's contact address: the Reply-To of every e-mail.",
                kind="e-mail address",
            ),
        ),
    ),
    (
        "Sending mail",
        (
            optional(
                "MAIL_SERVER",
                "SMTP server for `flask --app refportal mail send` and the worker; empty keeps mail in the "
                "outbox (the mail viewer in development).",
                kind="host name",
            ),
            integer("MAIL_PORT", 25, "SMTP port (25, 587 with TLS, 465 with SSL)."),
            optional("MAIL_USERNAME", "SMTP login, if the server needs one.", strip=False),
            optional("MAIL_PASSWORD", "SMTP password, if the server needs one.", kind="secret", strip=False),
            boolean("MAIL_USE_TLS", False, "STARTTLS after connecting."),
            boolean("MAIL_USE_SSL", False, "Connect with implicit TLS."),
            text(
                "MAIL_DEFAULT_SENDER",
                "refportal <no-reply@refportal.invalid>",
                "The From address of every e-mail.",
                kind="e-mail address",
            ),
            integer("MAIL_TIMEOUT_SECONDS", 30, "Seconds before an SMTP connection or command gives up."),
            integer("MAIL_BATCH_SIZE", 100, "Messages sent per SMTP connection."),
            integer(
                "MAIL_MAX_ATTEMPTS",
                8,
                "Attempts before a message that keeps getting temporary errors is marked failed.",
            ),
            integer(
                "MAIL_RETRY_BASE_SECONDS",
                60,
                "First retry delay in seconds; it doubles with each attempt (at most 6 hours).",
            ),
            integer(
                "MAIL_CLAIM_LEASE_SECONDS",
                600,
                "Seconds after which messages claimed by a sender that died are sent by another (longer than a "
                "batch takes).",
            ),
        ),
    ),
    (
        "The worker",
        (
            integer("WORKER_POLL_SECONDS", 5, "Seconds between the worker's looks at the outbox when it is idle."),
            integer(
                "REFERENCE_JOBS_INTERVAL_MINUTES",
                60,
                "Minutes between two runs of the reference job (reminders and link expiry), across all workers.",
            ),
            integer(
                "REVIEW_JOBS_INTERVAL_MINUTES",
                15,
                "Minutes between the worker's runs of the review job (assignment digests, due-date reminders).",
            ),
            integer(
                "ENDORSEMENT_JOBS_INTERVAL_MINUTES",
                60,
                "Minutes between the worker's runs of the endorsement job (renewal notices, reminders, grace, lapse).",
            ),
        ),
    ),
    (
        "Delivery reports (bounces)",
        (
            optional(
                "BOUNCE_ADDRESS",
                "Mailbox that receives delivery reports, e.g. `bounces@refs.example.org`. Set: each message's "
                "envelope sender is `bounces+<outbox id>-<signature>@refs.example.org` (VERP, signed with a key "
                "derived from SECRET_KEY; the mailbox must accept the +suffix); the header From stays "
                "MAIL_DEFAULT_SENDER. Empty: the envelope sender is MAIL_DEFAULT_SENDER.",
                kind="e-mail address",
            ),
            optional(
                "BOUNCE_WEBHOOK_SECRET",
                "Bearer secret of `POST /hooks/bounces` (an inbound-mail service posts each raw report); empty: "
                "the endpoint answers 404.",
                kind="secret",
            ),
            text(
                "BOUNCE_WEBHOOK_LIMIT",
                "120 per minute",
                "Reports accepted from one client address at the webhook.",
                kind=_FLASK_LIMITER,
            ),
            optional(
                "BOUNCE_IMAP_URL",
                "The mailbox the worker (and `mail bounces`) polls, e.g. "
                "`imaps://user:pass@imap.example.org/INBOX` (`?processed=Processed` moves handled reports "
                "there); empty: no polling.",
                kind="URL",
            ),
            integer("BOUNCE_IMAP_TIMEOUT_SECONDS", 30, "Seconds before an IMAP connection or command gives up."),
            integer(
                "BOUNCE_IMAP_INTERVAL_MINUTES",
                2,
                "Minutes between two polls of that mailbox by the worker (one worker polls per period).",
            ),
        ),
    ),
    (
        "The staff mail console",
        (
            integer("MAIL_CONSOLE_PAGE_SIZE", 50, "Messages per page of the mail console (/staff/mail)."),
            text(
                "MAIL_RESEND_LIMIT",
                "20 per hour",
                "Resends one administrator may make from the mail console.",
                kind=_FLASK_LIMITER,
            ),
        ),
    ),
    (
        "Documents and their scanning",
        (
            Setting(
                "DOCUMENT_STORAGE",
                "database, filesystem or s3",
                "filesystem",
                "Where uploaded documents are kept: in the database, in DOCUMENT_DIRECTORY, or in an "
                "S3-compatible object store (several web machines; needs DOCUMENT_S3_BUCKET).",
                lambda n, raw, _c: _document_storage(n, raw),
                ("DOCUMENT_STORAGE",),
            ),
            Setting(
                "DOCUMENT_DIRECTORY",
                "folder",
                "`documents` in the instance folder",
                "The filesystem backend's folder.",
                lambda _n, raw, c: (raw or "").strip() or str(c.instance / "documents"),
                ("DOCUMENT_DIRECTORY",),
            ),
            stripped("DOCUMENT_S3_BUCKET", "", "The S3 backend's bucket."),
            text("DOCUMENT_S3_PREFIX", "documents/", "The S3 backend's key prefix."),
            stripped("DOCUMENT_S3_ENDPOINT_URL", "", "An S3-compatible server's address (empty: AWS)."),
            stripped("DOCUMENT_S3_REGION", "", "The S3 backend's region."),
            stripped("DOCUMENT_S3_ACCESS_KEY_ID", "", "The S3 backend's access key id (empty: boto3's own lookup)."),
            stripped("DOCUMENT_S3_SECRET_ACCESS_KEY", "", "The S3 backend's secret access key.", kind="secret"),
            integer("DOCUMENT_S3_TIMEOUT_SECONDS", 10, "Connect and read time-out of the S3 backend."),
            integer(
                "DOCUMENT_MAX_BYTES",
                10 * 1024 * 1024,
                "Largest document, in bytes (the upload pages' request limit follows it).",
            ),
            integer("DOCUMENT_MAX_PER_APPLICATION", 30, "Documents one application may hold."),
            integer("DOCUMENT_MAX_IMAGE_PIXELS", 40_000_000, "Largest image, in pixels (read from its header)."),
            integer("DOCUMENT_MAX_PDF_OBJECTS", 20_000, "Largest PDF, in indirect objects."),
            stripped(
                "CLAMD_ADDRESS",
                "unix:///run/clamav/clamd.ctl",
                "clamd, which scans every upload: `tcp://host:port` or `unix:///path` (Debian's "
                "clamav-daemon listens on the unix socket). Empty: uploads wait, pending, for the worker.",
            ),
            integer("CLAMD_TIMEOUT_SECONDS", 60, "Time-out of one scan."),
            integer(
                "DOCUMENT_SCAN_RETRY_BASE_SECONDS",
                60,
                "First wait before a failed scan is tried again (doubling, at most 6 h).",
            ),
            integer("DOCUMENT_SCAN_LEASE_SECONDS", 600, "How long a worker holds a document it is scanning."),
        ),
    ),
    (
        "API and webhooks",
        (
            text("API_RATE_LIMIT", "600 per minute", "Requests one API key may make.", kind=_FLASK_LIMITER),
            text(
                "API_RATE_LIMIT_PER_ADDRESS",
                "1200 per minute",
                "Requests to the API from one client address, whatever keys it sends.",
                kind=_FLASK_LIMITER,
            ),
            integer("WEBHOOK_MAX_ATTEMPTS", 8, "Attempts per webhook delivery."),
            integer(
                "WEBHOOK_RETRY_BASE_SECONDS",
                60,
                "First retry delay of a webhook delivery in seconds (doubling, at most 6 hours).",
            ),
            integer(
                "WEBHOOK_DISABLE_AFTER",
                10,
                "Failed deliveries in a row that disable an endpoint (administrators are e-mailed).",
            ),
            integer("WEBHOOK_TIMEOUT_SECONDS", 10, "Socket time-out of a webhook delivery, in seconds."),
            boolean_outside(
                "WEBHOOK_ALLOW_PRIVATE_ADDRESSES",
                "production",
                when=False,
                description="Whether webhook endpoints may be http or on loopback/private addresses.",
            ),
        ),
    ),
    (
        "Accounts and sessions",
        (
            integer(
                "EMAIL_VERIFY_MAX_AGE",
                3 * 24 * 3600,
                "Seconds an e-mail verification link stays valid.",
                shown="259200 (3 days)",
            ),
            integer("PASSWORD_RESET_MAX_AGE", 3600, "Seconds a password reset link stays valid."),
            integer(
                "STAFF_INVITE_MAX_AGE",
                7 * 24 * 3600,
                "Seconds a staff invitation link (to set one's password) stays valid.",
                shown="604800 (7 days)",
            ),
            integer(
                "EMAILS_PER_ADDRESS_PER_HOUR",
                3,
                'Account e-mails (verification, reset, "account exists") sent to one address per hour at most.',
            ),
            text("LOGIN_LIMIT_PER_ACCOUNT", "10 per 15 minutes", "Login attempts per account.", kind=_FLASK_LIMITER),
            text("LOGIN_LIMIT_PER_IP", "30 per 15 minutes", "Login attempts per client address.", kind=_FLASK_LIMITER),
            integer(
                "SESSION_IDLE_MINUTES",
                30,
                "A session ends after this many idle minutes. The idle clock moves once a minute (a page within "
                "the minute sends no new cookie), so a session may end up to a minute early.",
            ),
            integer("SESSION_ABSOLUTE_HOURS", 12, "A session ends this many hours after login in any case."),
            boolean_outside(
                "SESSION_COOKIE_SECURE",
                "production",
                when=True,
                description="Send the session (and remember-me) cookie only over HTTPS. Only a local benchmark "
                "turns it off.",
                keys=("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"),
            ),
        ),
    ),
    (
        "References and ratings",
        (
            integer(
                "REFERENCE_LINK_MAX_AGE",
                30 * 24 * 3600,
                "Seconds a referee's link stays valid; the request e-mail states the resulting deadline.",
                shown="2592000 (30 days)",
            ),
            Setting(
                "REFERENCE_REMINDER_DAYS",
                "days, comma-separated",
                "`7,14`",
                "Days after the invitation when the reference job (`flask references remind`) sends reminders.",
                lambda n, raw, _c: _day_list(n, raw, (7, 14)),
                ("REFERENCE_REMINDER_DAYS",),
            ),
            integer(
                "REFERENCE_REMINDER_INTERVAL_HOURS",
                24,
                "Least time between two reminders to one referee (automatic or sent by the applicant).",
            ),
            integer(
                "REFERENCE_FRESH_LINK_INTERVAL_MINUTES",
                10,
                "Least time between two fresh links a referee asks for after theirs expired.",
            ),
            integer(
                "REFEREE_PAGE_MAX_AGE",
                24 * 3600,
                'Seconds a referee\'s sign-in link to "My reference requests" (every request sent to their '
                "address) stays valid; a newer link revokes the older ones.",
                shown="86400 (1 day)",
            ),
            json_setting(
                "REFEREE_ROLE_RULES_JSON",
                "REFEREE_ROLE_RULES",
                DEFAULT_REFEREE_ROLE_RULES,
                "the domain's rules (DEFAULT_REFEREE_ROLE_RULES)",
                'Who the three referees may and must be, per category (`"1"`…`"3"`, `"4:clinical"`, '
                '`"4:policy"`, `"4:research"`: `offered` roles and `required` [{`description`, `roles`}]); '
                "a rule naming an unknown role or a required role it does not offer stops the portal at start-up.",
                by_category=False,
            ),
            integer(
                "RATING_VALID_DAYS",
                365,
                "A rating older than this on the decision date (or today, while undecided) is flagged on the "
                "file; within it, a rating may be reused for a new application (the referee confirms).",
            ),
            Setting(
                "REFEREE_KNOWN_YEARS_MINIMUM",
                "number",
                "1",
                "A referee who has known the applicant for less (as nominated, or as the referee says) is "
                "flagged on the file.",
                lambda n, raw, _c: _decimal(n, raw, "1"),
                ("REFEREE_KNOWN_YEARS_MINIMUM",),
            ),
            integer(
                "NOT_ENOUGH_INFORMATION_LIMIT",
                6,
                'A rating with this many "not enough information" answers or more does not count.',
            ),
        ),
    ),
    (
        "Applications",
        (
            integer(
                "OTHER_CREDENTIAL_WAIT_DAYS",
                365,
                "Days after the decision on one credential before the other may be applied for.",
            ),
            json_setting(
                "FEE_SCHEDULE_JSON",
                "FEE_SCHEDULE",
                DEFAULT_FEE_SCHEDULE,
                "the seed's schedule (DEFAULT_FEE_SCHEDULE)",
                'Fees per category, e.g. `{"currency":"USD","membership":{"1":50,...},'
                '"application":{...},"processing":{...}}`.',
                by_category=True,
            ),
            json_setting(
                "ELIGIBILITY_REQUIREMENTS_JSON",
                "ELIGIBILITY_REQUIREMENTS",
                DEFAULT_ELIGIBILITY_REQUIREMENTS,
                "the domain's thresholds (DEFAULT_ELIGIBILITY_REQUIREMENTS)",
                "Education, training and RSC thresholds per category.",
                by_category=True,
            ),
        ),
    ),
    (
        "Fees and payments",
        (
            Setting(
                "FEE_APPLICATION_FEE_DUE",
                "`opening` or `submission`",
                "`opening`",
                "When the application fee must be paid: `opening` (before the referee requests are sent) or "
                "`submission` (with the processing fee, before the application is submitted).",
                lambda n, raw, _c: _choice(n, raw, "opening", ("opening", "submission")),
                ("FEE_APPLICATION_FEE_DUE",),
            ),
            integer(
                "ENDORSEMENT_REINSTATEMENT_FEE",
                50,
                "Charged with the processing fee on an application that reinstates a lapsed endorsement, in "
                "whole units of FEE_SCHEDULE's currency (0: none).",
            ),
            text(
                "ASSOCIATION_ADDRESS",
                "",
                "The association's postal address and tax number as receipts show them (lines separated by `;`).",
            ),
            optional(
                "STRIPE_SECRET_KEY",
                "Stripe's secret API key: online payment by card through Stripe Checkout. Empty: online payment "
                "is off and the fee pages say how else to pay.",
                kind="secret",
            ),
            optional(
                "STRIPE_WEBHOOK_SECRET",
                "The signing secret of the Stripe webhook endpoint `POST /payments/stripe/webhook`; needed with "
                "STRIPE_SECRET_KEY (a payment is recorded only from a webhook signed with it).",
                kind="secret",
            ),
            stripped(
                "STRIPE_API_BASE",
                "https://api.stripe.com",
                "Where the Stripe library sends its API calls (the tests point it at a stand-in on loopback).",
            ),
            Setting(
                "STRIPE_WEBHOOK_TOLERANCE",
                "whole number",
                "300",
                "Seconds a signed webhook stays acceptable after its signature's timestamp (older: a replay); "
                "1 to 3600.",
                lambda n, raw, _c: _int_between(n, raw, 300, 1, 3600),
                ("STRIPE_WEBHOOK_TOLERANCE",),
            ),
            text(
                "STRIPE_WEBHOOK_LIMIT",
                "600 per minute",
                "Requests accepted from one client address at `POST /payments/stripe/webhook` (each must still "
                "carry a valid signature).",
                kind=_FLASK_LIMITER,
            ),
        ),
    ),
    (
        "Reviewing",
        (
            boolean(
                "REVIEW_AUTO_DECIDE",
                True,
                "When REVIEWS_FOR_CONSENSUS reviewers agree, their recommendation becomes the decision.",
            ),
            integer(
                "REVIEWS_FOR_CONSENSUS", 2, "How many agreeing reviews make a decision when REVIEW_AUTO_DECIDE is on."
            ),
            integer(
                "REVIEW_HORIZON_DAYS",
                60,
                "A membership expiring within this many days is flagged on the file as expiring before the review.",
            ),
            integer("REVIEWERS_PER_FILE", 2, "Reviewers each file gets (by hand or by auto-assign for a round)."),
            boolean(
                "REVIEWERS_READ_UNASSIGNED",
                True,
                "Whether a reviewer may read (not review) files they are not assigned to.",
            ),
            integer(
                "REVIEW_ROUND_REVIEW_DAYS",
                42,
                "The suggested review due date of a new round: this many days after its submission deadline.",
            ),
            integer(
                "REVIEW_REMINDER_DAYS",
                3,
                "Assigned reviewers with unreviewed files are reminded this many days before their round's due date.",
            ),
            integer(
                "ENDORSEMENT_RENEWAL_MONTHS",
                12,
                "An endorsement's renewal date: this many months after the decision (stated on the decision "
                "e-mail and page).",
            ),
            integer(
                "ENDORSEMENT_RENEWAL_WINDOW_DAYS",
                60,
                "An endorsement's renewal window opens this many days before its period ends (the endorsee is told).",
            ),
            integer(
                "ENDORSEMENT_GRACE_DAYS",
                30,
                "Days of grace after an endorsement's period ends without a renewal; after them it lapses.",
            ),
            Setting(
                "ENDORSEMENT_REMINDER_DAYS",
                "days, comma-separated",
                "`30,7`",
                "Days before an endorsement's period ends when the endorsee is reminded to renew.",
                lambda n, raw, _c: _day_list(n, raw, (7, 30)),
                ("ENDORSEMENT_REMINDER_DAYS",),
            ),
            Setting(
                "ENDORSEMENT_GRACE_REMINDER_DAYS",
                "days, comma-separated",
                "`7,21`",
                "Days into the grace period when the endorsee is reminded that their endorsement will lapse.",
                lambda n, raw, _c: _day_list(n, raw, (7, 21)),
                ("ENDORSEMENT_GRACE_REMINDER_DAYS",),
            ),
            json_setting(
                "ENDORSEMENT_RENEWAL_REQUIREMENTS_JSON",
                "ENDORSEMENT_RENEWAL_REQUIREMENTS",
                DEFAULT_RENEWAL_REQUIREMENTS,
                "the domain's rules (DEFAULT_RENEWAL_REQUIREMENTS)",
                "Training and RSC hours a year's renewal needs, per category (RSC by mentor track for category 4).",
                by_category=True,
            ),
            integer(
                "ENDORSEMENT_RENEWAL_RSC_PROVIDER_TRAINING_HOURS",
                3,
                "Of the year's training hours, those on reflective supervision/consultation an endorsee who "
                "provides RSC needs.",
            ),
            integer(
                "ENDORSEMENT_RENEWAL_DEI_HOURS",
                0,
                "Of the year's training hours, those on diversity, equity and inclusion every renewal needs (0: none).",
            ),
            Setting(
                "ENDORSEMENT_RENEWAL_ATTESTATIONS",
                "names, comma-separated",
                "`code_of_ethics,no_sanction`",
                "The attestations a renewal asks the endorsee to sign: any of "
                + ", ".join(f"`{key}`" for key in RENEWAL_ATTESTATIONS)
                + " (empty: none).",
                lambda n, raw, _c: _attestations(n, raw),
                ("ENDORSEMENT_RENEWAL_ATTESTATIONS",),
            ),
            integer("ENDORSEMENT_RENEWAL_FEE", 40, "The renewal fee, in whole units of FEE_SCHEDULE's currency."),
            integer(
                "ENDORSEMENT_RENEWAL_LATE_FEE",
                35,
                "Added to the renewal fee when the renewal is submitted after the period ended (in the grace).",
            ),
            boolean(
                "REGISTRY_LISTED_BY_DEFAULT",
                True,
                "Whether an endorsee who has not chosen is listed in the public registry (true: they opt out).",
            ),
            integer("REGISTRY_PAGE_SIZE", 25, "Entries per page of the public registry's search."),
            integer("REGISTRY_CACHE_SECONDS", 300, "How long anyone may cache the public registry's pages (max-age)."),
            text(
                "REGISTRY_RATE_LIMIT",
                "120 per minute",
                "Requests per client address to the public registry, its pages and exports together "
                "(Flask-Limiter syntax).",
            ),
            integer("QUEUE_PAGE_SIZE", 25, "Applications per page in the reviewer queue."),
            integer(
                "QUEUE_COUNT_LIMIT",
                1000,
                'The queue counts matching applications exactly up to this many; beyond, it says "more than" '
                "and pages with Previous/Next (so a page costs the same at any size).",
            ),
        ),
    ),
    (
        "Requests, proxies and logs",
        (
            integer("MAX_CONTENT_LENGTH", 1024 * 1024, "Largest request body accepted, in bytes."),
            integer("WTF_CSRF_TIME_LIMIT", 3600 * 8, "Seconds a form's CSRF token stays valid."),
            text(
                "RATELIMIT_STORAGE_URI",
                "memory://",
                "Flask-Limiter storage. `memory://` counts per process, so each gunicorn worker allows the whole "
                "limit (production logs a warning at start-up); in production use Redis, "
                "`redis://127.0.0.1:6379/0`, shared by every worker.",
                kind="URL",
            ),
            boolean("RATELIMIT_ENABLED", True, "Turn rate limits off only for load tests on a private machine."),
            Setting(
                "PROXY_COUNT",
                "0 to 10",
                "0",
                "Trusted reverse proxies in front (nginx: 1). Their `X-Forwarded-For/-Proto/-Host` (werkzeug's "
                "ProxyFix) give the client's address, which the rate limits key on, and HTTPS, which turns on "
                "HSTS. Another value stops the portal at start-up.",
                lambda n, raw, _c: _proxy_count(n, raw),
                ("PROXY_COUNT",),
            ),
            Setting(
                "LOG_FORMAT",
                "json or text",
                "json in production, else text",
                "`json`: one line per request (method, path with any token replaced by `<token>`, status, "
                "duration, client address, request id) and per error (with its traceback), on stderr.",
                lambda n, raw, c: _log_format(n, raw, c.env),
                ("LOG_FORMAT",),
            ),
            integer("READY_DATABASE_TIMEOUT_SECONDS", 2, "`/readyz`: seconds the database may take to answer."),
            integer(
                "READY_MAX_OUTBOX_AGE_SECONDS",
                900,
                "`/readyz`: how long (seconds) a due message may wait in the outbox before the portal reports "
                "itself not ready.",
            ),
        ),
    ),
    (
        "The database engine",
        (
            engine_integer("DB_POOL_SIZE", 5, "PostgreSQL: connections the pool keeps open."),
            engine_integer("DB_MAX_OVERFLOW", 10, "PostgreSQL: extra connections allowed beyond the pool."),
            engine_integer("DB_POOL_TIMEOUT", 10, "PostgreSQL: seconds to wait for a pooled connection."),
            engine_integer("DB_POOL_RECYCLE", 1800, "PostgreSQL: seconds after which a pooled connection is replaced."),
            engine_integer("DB_CONNECT_TIMEOUT", 5, "PostgreSQL: seconds to wait for a new connection."),
            engine_integer(
                "DB_STATEMENT_TIMEOUT_MS",
                30_000,
                "PostgreSQL: milliseconds a statement may run before it is cancelled.",
            ),
            engine_integer("DB_BUSY_TIMEOUT", 15, "SQLite: seconds to wait for another writer before giving up."),
        ),
    ),
    (
        "The process",
        (
            Setting(
                "REFPORTAL_SKIP_DOTENV",
                "1 or empty",
                "empty",
                "Only in the real environment, never in `.env`: 1 makes the portal ignore `./.env` (the test "
                "suite sets it).",
                lambda _n, raw, _c: raw == "1",
            ),
        ),
    ),
)

SETTINGS: tuple[Setting, ...] = tuple(setting for _title, settings in SECTIONS for setting in settings)
SETTING = {setting.name: setting for setting in SETTINGS}


def instance_path() -> Path:
    """REFPORTAL_INSTANCE_PATH, else ./instance in the working directory (the checkout for `make run`)."""
    return SETTING["REFPORTAL_INSTANCE_PATH"].value(Context())


def load_dotenv_file() -> None:
    """Read ./.env (the working directory's) under the real environment; the test suite turns it off
    with REFPORTAL_SKIP_DOTENV=1 so a developer's .env cannot change what the tests see."""
    if not SETTING["REFPORTAL_SKIP_DOTENV"].value(Context()):
        load_dotenv(Path.cwd() / ".env", override=False)


def load_config(overrides: dict | None = None) -> dict:
    """Read every setting from the environment, apply `overrides`, and check the secret key."""
    load_dotenv_file()
    overrides = overrides or {}
    env = _environment("REFPORTAL_ENV", overrides.get("ENV_NAME") or os.environ.get("REFPORTAL_ENV"))
    inst = Path(overrides.get("INSTANCE_PATH") or instance_path())
    settings = _settings_from_environment(env, inst)
    settings.update(overrides)
    settings["SQLALCHEMY_DATABASE_URI"] = database_url(settings["SQLALCHEMY_DATABASE_URI"])
    settings.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(settings["SQLALCHEMY_DATABASE_URI"]))
    if env == "production":
        # Statement parameters (answers, narratives, tokens) never appear in an error's text or a log line.
        settings["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("hide_parameters", True)
    settings["SECRET_KEY"] = _checked_secret_key(settings["SECRET_KEY"], env, inst)
    return settings


def _settings_from_environment(env: str, inst: Path) -> dict:
    """Every setting of the registry that fills application settings, and those that follow from the
    environment alone."""
    context = Context(env=env, instance=inst)
    settings: dict[str, Any] = {"ENV_NAME": env, "INSTANCE_PATH": str(inst)}
    for setting in SETTINGS:
        if setting.keys:
            value = setting.value(context)
            settings.update(dict.fromkeys(setting.keys, value))
    if settings["DOCUMENT_STORAGE"] == "s3" and not settings["DOCUMENT_S3_BUCKET"]:
        raise ConfigurationError("DOCUMENT_STORAGE=s3 needs DOCUMENT_S3_BUCKET.")
    # The viewer shows every queued message, links included: never in production.
    settings["MAIL_VIEWER"] = env == "development"
    settings["SESSION_COOKIE_HTTPONLY"] = True
    settings["SESSION_COOKIE_SAMESITE"] = "Lax"
    return settings


def database_url(url: str) -> str:
    """PostgreSQL URLs use the psycopg 3 driver the portal installs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def engine_options(url: str) -> dict:
    """Connection pool and time-outs: a dead connection is replaced, nothing waits for ever."""

    def read(name: str) -> int:
        return SETTING[name].value(Context())

    options: dict = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        statement_ms = read("DB_STATEMENT_TIMEOUT_MS")
        options.update(
            pool_size=read("DB_POOL_SIZE"),
            max_overflow=read("DB_MAX_OVERFLOW"),
            pool_timeout=read("DB_POOL_TIMEOUT"),
            pool_recycle=read("DB_POOL_RECYCLE"),
            connect_args={
                "connect_timeout": read("DB_CONNECT_TIMEOUT"),
                "options": f"-c statement_timeout={statement_ms}",
            },
        )
    elif url.startswith("sqlite"):
        # Wait for another writer instead of failing at once with "database is locked".
        options["connect_args"] = {"timeout": read("DB_BUSY_TIMEOUT")}
    return options


def _checked_secret_key(secret_key: str | None, env: str, inst: Path) -> str:
    secret_key = (secret_key or "").strip()
    if secret_key not in PLACEHOLDER_SECRET_KEYS:
        return secret_key
    if env == "development":
        return _development_secret_key(inst)
    raise ConfigurationError(
        "SECRET_KEY is missing or still a placeholder. Set SECRET_KEY to a long random value "
        "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
        "or set REFPORTAL_ENV=development on a developer machine."
    )


CONFIGURATION_DOC = "docs/configuration.md"


def configuration_markdown() -> str:
    """docs/configuration.md, generated from SECTIONS (`make docs` writes it; a test compares the two)."""
    lines = [
        "# Configuration",
        "",
        "<!-- Generated from refportal/config.py (SECTIONS) by `make docs`: edit config.py, not this file. -->",
        "",
        "Settings come from the environment; a `.env` file in the working directory is read first (real",
        "environment variables win). [`.env.example`](../.env.example) lists every setting below with a safe",
        "value to copy. This page is generated from the registry the portal reads its settings through",
        "(`SECTIONS` in [refportal/config.py](../refportal/config.py)), and tests/core/test_docs.py and",
        "tests/core/test_config.py fail when this page, the registry and `.env.example` disagree.",
        "",
        "Variables read only by the test suite and the benchmark are described in",
        "[development.md](development.md) and [benchmark.md](benchmark.md).",
    ]
    for title, settings in SECTIONS:
        lines += ["", f"## {title}", "", "| Setting | Kind | Default | Meaning |", "|---|---|---|---|"]
        for setting in settings:
            cells = (f"`{setting.name}`", setting.kind, setting.default, setting.description)
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"
