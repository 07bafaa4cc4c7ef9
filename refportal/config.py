"""Settings from the environment (a `.env` file is read first); one place for every default."""

from __future__ import annotations

import json
import os
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path

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


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}.") from exc


def _decimal(name: str, default: str) -> Decimal:
    raw = os.environ.get(name, "").strip() or default
    try:
        return Decimal(raw)
    except InvalidOperation as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}.") from exc


def _day_list(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return tuple(sorted(int(part) for part in raw.split(",") if part.strip()))
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be whole numbers of days separated by commas, got {raw!r}.") from exc


def _json(name: str, default: dict) -> dict:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{name} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ConfigurationError(f"{name} must be a JSON object.")
    return value


def _json_by_category(name: str, default: dict) -> dict:
    """A JSON setting whose category keys arrive as strings; they are turned back into numbers."""
    value = _json(name, default)
    return default if value is default else _number_keys(value)


def _number_keys(obj: dict) -> dict:
    return {
        (int(k) if isinstance(k, str) and k.isdigit() else k): (_number_keys(v) if isinstance(v, dict) else v)
        for k, v in obj.items()
    }


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


def instance_path() -> Path:
    """REFPORTAL_INSTANCE_PATH, else ./instance in the working directory (the checkout for `make run`)."""
    return Path(os.environ.get("REFPORTAL_INSTANCE_PATH") or Path.cwd() / "instance").resolve()


def load_dotenv_file() -> None:
    """Read ./.env (the working directory's) under the real environment; the test suite turns it off
    with REFPORTAL_SKIP_DOTENV=1 so a developer's .env cannot change what the tests see."""
    if os.environ.get("REFPORTAL_SKIP_DOTENV") != "1":
        load_dotenv(Path.cwd() / ".env", override=False)


def load_config(overrides: dict | None = None) -> dict:
    """Read every setting from the environment, apply `overrides`, and check the secret key."""
    load_dotenv_file()
    overrides = overrides or {}
    env = str(overrides.get("ENV_NAME") or os.environ.get("REFPORTAL_ENV") or "production").strip().lower()
    if env not in ENVIRONMENTS:
        raise ConfigurationError(f"REFPORTAL_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}.")
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


def database_url(url: str) -> str:
    """PostgreSQL URLs use the psycopg 3 driver the portal installs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def engine_options(url: str) -> dict:
    """Connection pool and time-outs: a dead connection is replaced, nothing waits for ever."""
    options: dict = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        statement_ms = _int("DB_STATEMENT_TIMEOUT_MS", 30_000)
        options.update(
            pool_size=_int("DB_POOL_SIZE", 5),
            max_overflow=_int("DB_MAX_OVERFLOW", 10),
            pool_timeout=_int("DB_POOL_TIMEOUT", 10),
            pool_recycle=_int("DB_POOL_RECYCLE", 1800),
            connect_args={
                "connect_timeout": _int("DB_CONNECT_TIMEOUT", 5),
                "options": f"-c statement_timeout={statement_ms}",
            },
        )
    elif url.startswith("sqlite"):
        # Wait for another writer instead of failing at once with "database is locked".
        options["connect_args"] = {"timeout": _int("DB_BUSY_TIMEOUT", 15)}
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


def _proxy_count() -> int:
    raw = os.environ.get("PROXY_COUNT", "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > 10:
        raise ConfigurationError(
            f"PROXY_COUNT must be the number of trusted reverse proxies in front of the portal (0 to 10), got {raw!r}."
        )
    return int(raw)


def _log_format(env: str) -> str:
    value = os.environ.get("LOG_FORMAT", "").strip().lower() or ("json" if env == "production" else "text")
    if value not in ("json", "text"):
        raise ConfigurationError(f"LOG_FORMAT must be json or text, got {value!r}.")
    return value


def _settings_from_environment(env: str, inst: Path) -> dict:
    secret_key = os.environ.get("SECRET_KEY", "")
    fallbacks = [k.strip() for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if k.strip()]
    mail_server = os.environ.get("MAIL_SERVER", "").strip() or None
    return {
        "ENV_NAME": env,
        "INSTANCE_PATH": str(inst),
        "SECRET_KEY": secret_key,
        "SECRET_KEY_FALLBACKS": fallbacks,
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL") or f"sqlite:///{inst / 'refportal.db'}",
        "PORTAL_BASE_URL": os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "PORTAL_NAME": os.environ.get("PORTAL_NAME", "refportal"),
        "ASSOCIATION_NAME": os.environ.get("ASSOCIATION_NAME", "INfancy Onward"),
        "ASSOCIATION_EMAIL": os.environ.get("ASSOCIATION_EMAIL", "endorsement@example.org"),
        "MAIL_SERVER": mail_server,
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(os.environ.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(os.environ.get("MAIL_USE_SSL")),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_DEFAULT_SENDER", "refportal <no-reply@refportal.invalid>"),
        "MAIL_TIMEOUT_SECONDS": _int("MAIL_TIMEOUT_SECONDS", 30),
        "MAIL_BATCH_SIZE": _int("MAIL_BATCH_SIZE", 100),
        "MAIL_MAX_ATTEMPTS": _int("MAIL_MAX_ATTEMPTS", 8),
        "MAIL_RETRY_BASE_SECONDS": _int("MAIL_RETRY_BASE_SECONDS", 60),
        "MAIL_CLAIM_LEASE_SECONDS": _int("MAIL_CLAIM_LEASE_SECONDS", 600),
        # The worker: how often it looks for due mail, and the periods of its jobs.
        "WORKER_POLL_SECONDS": _int("WORKER_POLL_SECONDS", 5),
        "REFERENCE_JOBS_INTERVAL_MINUTES": _int("REFERENCE_JOBS_INTERVAL_MINUTES", 60),
        # The viewer shows every queued message, links included: never in production.
        "MAIL_VIEWER": env == "development",
        "EMAIL_VERIFY_MAX_AGE": _int("EMAIL_VERIFY_MAX_AGE", 3 * 24 * 3600),
        "PASSWORD_RESET_MAX_AGE": _int("PASSWORD_RESET_MAX_AGE", 3600),
        "REFERENCE_LINK_MAX_AGE": _int("REFERENCE_LINK_MAX_AGE", 30 * 24 * 3600),
        "REFERENCE_REMINDER_DAYS": _day_list("REFERENCE_REMINDER_DAYS", (7, 14)),
        "REFERENCE_REMINDER_INTERVAL_HOURS": _int("REFERENCE_REMINDER_INTERVAL_HOURS", 24),
        "REFERENCE_FRESH_LINK_INTERVAL_MINUTES": _int("REFERENCE_FRESH_LINK_INTERVAL_MINUTES", 10),
        "REFEREE_PAGE_MAX_AGE": _int("REFEREE_PAGE_MAX_AGE", 24 * 3600),
        "NOT_ENOUGH_INFORMATION_LIMIT": _int("NOT_ENOUGH_INFORMATION_LIMIT", 6),
        "RATING_VALID_DAYS": _int("RATING_VALID_DAYS", 365),
        "REFEREE_ROLE_RULES": _json("REFEREE_ROLE_RULES_JSON", DEFAULT_REFEREE_ROLE_RULES),
        "REFEREE_KNOWN_YEARS_MINIMUM": _decimal("REFEREE_KNOWN_YEARS_MINIMUM", "1"),
        "REVIEW_AUTO_DECIDE": _bool(os.environ.get("REVIEW_AUTO_DECIDE"), default=True),
        "REVIEWS_FOR_CONSENSUS": _int("REVIEWS_FOR_CONSENSUS", 2),
        "REVIEW_HORIZON_DAYS": _int("REVIEW_HORIZON_DAYS", 60),
        # Review rounds and assignment.
        "REVIEWERS_PER_FILE": _int("REVIEWERS_PER_FILE", 2),
        "REVIEWERS_READ_UNASSIGNED": _bool(os.environ.get("REVIEWERS_READ_UNASSIGNED"), default=True),
        "REVIEW_ROUND_REVIEW_DAYS": _int("REVIEW_ROUND_REVIEW_DAYS", 42),
        "REVIEW_REMINDER_DAYS": _int("REVIEW_REMINDER_DAYS", 3),
        "REVIEW_JOBS_INTERVAL_MINUTES": _int("REVIEW_JOBS_INTERVAL_MINUTES", 15),
        "ENDORSEMENT_RENEWAL_MONTHS": _int("ENDORSEMENT_RENEWAL_MONTHS", 12),
        "QUEUE_PAGE_SIZE": _int("QUEUE_PAGE_SIZE", 25),
        "QUEUE_COUNT_LIMIT": _int("QUEUE_COUNT_LIMIT", 1000),
        "STAFF_INVITE_MAX_AGE": _int("STAFF_INVITE_MAX_AGE", 7 * 24 * 3600),
        "OTHER_CREDENTIAL_WAIT_DAYS": _int("OTHER_CREDENTIAL_WAIT_DAYS", 365),
        "FEE_SCHEDULE": _json_by_category("FEE_SCHEDULE_JSON", DEFAULT_FEE_SCHEDULE),
        "ELIGIBILITY_REQUIREMENTS": _json_by_category(
            "ELIGIBILITY_REQUIREMENTS_JSON", DEFAULT_ELIGIBILITY_REQUIREMENTS
        ),
        "EMAILS_PER_ADDRESS_PER_HOUR": _int("EMAILS_PER_ADDRESS_PER_HOUR", 3),
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "10 per 15 minutes"),
        "LOGIN_LIMIT_PER_IP": os.environ.get("LOGIN_LIMIT_PER_IP", "30 per 15 minutes"),
        "SESSION_IDLE_MINUTES": _int("SESSION_IDLE_MINUTES", 30),
        "SESSION_ABSOLUTE_HOURS": _int("SESSION_ABSOLUTE_HOURS", 12),
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 1024 * 1024),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure cookies in production; a benchmark on plain-HTTP loopback may turn them off.
        "SESSION_COOKIE_SECURE": _bool(os.environ.get("SESSION_COOKIE_SECURE"), default=env == "production"),
        "REMEMBER_COOKIE_SECURE": _bool(os.environ.get("SESSION_COOKIE_SECURE"), default=env == "production"),
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Trusted reverse proxies in front (nginx: 1): their X-Forwarded-For/-Proto/-Host are believed.
        "PROXY_COUNT": _proxy_count(),
        "LOG_FORMAT": _log_format(env),
        "READY_MAX_OUTBOX_AGE_SECONDS": _int("READY_MAX_OUTBOX_AGE_SECONDS", 900),
        "READY_DATABASE_TIMEOUT_SECONDS": _int("READY_DATABASE_TIMEOUT_SECONDS", 2),
        "RATELIMIT_ENABLED": _bool(os.environ.get("RATELIMIT_ENABLED"), default=True),
        "WTF_CSRF_TIME_LIMIT": _int("WTF_CSRF_TIME_LIMIT", 3600 * 8),
        # Delivery reports (bounces): the VERP envelope sender, the webhook's secret, the IMAP mailbox.
        "BOUNCE_ADDRESS": os.environ.get("BOUNCE_ADDRESS", "").strip() or None,
        "BOUNCE_WEBHOOK_SECRET": os.environ.get("BOUNCE_WEBHOOK_SECRET", "").strip() or None,
        "BOUNCE_WEBHOOK_LIMIT": os.environ.get("BOUNCE_WEBHOOK_LIMIT", "120 per minute"),
        "BOUNCE_IMAP_URL": os.environ.get("BOUNCE_IMAP_URL", "").strip() or None,
        "BOUNCE_IMAP_TIMEOUT_SECONDS": _int("BOUNCE_IMAP_TIMEOUT_SECONDS", 30),
        "BOUNCE_IMAP_INTERVAL_MINUTES": _int("BOUNCE_IMAP_INTERVAL_MINUTES", 2),
        # The API: requests per key (Flask-Limiter syntax).
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "600 per minute"),
        "API_RATE_LIMIT_PER_ADDRESS": os.environ.get("API_RATE_LIMIT_PER_ADDRESS", "1200 per minute"),
        # Webhooks: the worker's attempts, the first retry's delay (doubling), the failures in a row
        # that disable an endpoint, the socket time-out; private addresses are refused in production.
        "WEBHOOK_MAX_ATTEMPTS": _int("WEBHOOK_MAX_ATTEMPTS", 8),
        "WEBHOOK_RETRY_BASE_SECONDS": _int("WEBHOOK_RETRY_BASE_SECONDS", 60),
        "WEBHOOK_DISABLE_AFTER": _int("WEBHOOK_DISABLE_AFTER", 10),
        "WEBHOOK_TIMEOUT_SECONDS": _int("WEBHOOK_TIMEOUT_SECONDS", 10),
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": _bool(
            os.environ.get("WEBHOOK_ALLOW_PRIVATE_ADDRESSES"), default=env != "production"
        ),
        # The staff mail console: messages per page, and resends per staff member (Flask-Limiter syntax).
        "MAIL_CONSOLE_PAGE_SIZE": _int("MAIL_CONSOLE_PAGE_SIZE", 50),
        "MAIL_RESEND_LIMIT": os.environ.get("MAIL_RESEND_LIMIT", "20 per hour"),
        **_document_settings(inst),
    }


def _document_settings(inst: Path) -> dict:
    """The document store: its backend, limits, and the clamd that scans every upload."""
    storage = os.environ.get("DOCUMENT_STORAGE", "").strip().lower() or "filesystem"
    if storage not in ("database", "filesystem", "s3"):
        raise ConfigurationError(f"DOCUMENT_STORAGE must be database, filesystem or s3, got {storage!r}.")
    bucket = os.environ.get("DOCUMENT_S3_BUCKET", "").strip()
    if storage == "s3" and not bucket:
        raise ConfigurationError("DOCUMENT_STORAGE=s3 needs DOCUMENT_S3_BUCKET.")
    return {
        "DOCUMENT_STORAGE": storage,
        "DOCUMENT_DIRECTORY": os.environ.get("DOCUMENT_DIRECTORY", "").strip() or str(inst / "documents"),
        "DOCUMENT_S3_BUCKET": bucket,
        "DOCUMENT_S3_PREFIX": os.environ.get("DOCUMENT_S3_PREFIX", "documents/"),
        "DOCUMENT_S3_ENDPOINT_URL": os.environ.get("DOCUMENT_S3_ENDPOINT_URL", "").strip(),
        "DOCUMENT_S3_REGION": os.environ.get("DOCUMENT_S3_REGION", "").strip(),
        "DOCUMENT_S3_ACCESS_KEY_ID": os.environ.get("DOCUMENT_S3_ACCESS_KEY_ID", "").strip(),
        "DOCUMENT_S3_SECRET_ACCESS_KEY": os.environ.get("DOCUMENT_S3_SECRET_ACCESS_KEY", "").strip(),
        "DOCUMENT_S3_TIMEOUT_SECONDS": _int("DOCUMENT_S3_TIMEOUT_SECONDS", 10),
        # Limits: bytes per file (the upload routes' request limit follows it), files per application,
        # pixels per image (read from the header), indirect objects per PDF.
        "DOCUMENT_MAX_BYTES": _int("DOCUMENT_MAX_BYTES", 10 * 1024 * 1024),
        "DOCUMENT_MAX_PER_APPLICATION": _int("DOCUMENT_MAX_PER_APPLICATION", 30),
        "DOCUMENT_MAX_IMAGE_PIXELS": _int("DOCUMENT_MAX_IMAGE_PIXELS", 40_000_000),
        "DOCUMENT_MAX_PDF_OBJECTS": _int("DOCUMENT_MAX_PDF_OBJECTS", 20_000),
        # clamd: tcp://host:port or unix:///path (Debian's clamav-daemon listens on the unix socket).
        "CLAMD_ADDRESS": os.environ.get("CLAMD_ADDRESS", "unix:///run/clamav/clamd.ctl").strip(),
        "CLAMD_TIMEOUT_SECONDS": _int("CLAMD_TIMEOUT_SECONDS", 60),
        "DOCUMENT_SCAN_RETRY_BASE_SECONDS": _int("DOCUMENT_SCAN_RETRY_BASE_SECONDS", 60),
        "DOCUMENT_SCAN_LEASE_SECONDS": _int("DOCUMENT_SCAN_LEASE_SECONDS", 600),
    }
