"""Settings come from the environment; production refuses to start without a real secret key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from refportal import create_app
from refportal.config import (
    PLACEHOLDER_SECRET_KEYS,
    SETTING,
    SETTINGS,
    ConfigurationError,
    Context,
    load_config,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("key", [None, "", "change-me"])
def test_production_refuses_a_missing_or_placeholder_secret_key(monkeypatch, tmp_path, key):
    monkeypatch.setenv("REFPORTAL_ENV", "production")
    monkeypatch.setenv("REFPORTAL_INSTANCE_PATH", str(tmp_path))
    if key is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigurationError, match="SECRET_KEY is missing or still a placeholder"):
        create_app()


def test_environment_settings_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("REFPORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-real-and-long-production-secret-key")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.org")
    monkeypatch.setenv("MAIL_PORT", "587")
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    monkeypatch.setenv("PORTAL_BASE_URL", "https://refs.example.org/")
    config = load_config()
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/x.db"
    assert (config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_USE_TLS"]) == ("smtp.example.org", 587, True)
    assert config["PORTAL_BASE_URL"] == "https://refs.example.org"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["MAIL_VIEWER"] is False


def test_a_bad_number_is_a_clear_configuration_error(monkeypatch):
    monkeypatch.setenv("REFPORTAL_ENV", "development")
    monkeypatch.setenv("MAIL_PORT", "twenty-five")
    with pytest.raises(ConfigurationError, match="MAIL_PORT must be a whole number"):
        load_config()


def test_development_makes_and_keeps_a_secret_key_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("REFPORTAL_ENV", "development")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("REFPORTAL_INSTANCE_PATH", str(tmp_path))
    first = load_config()["SECRET_KEY"]
    assert len(first) >= 40
    assert load_config()["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").read_text() == first


def test_default_database_is_sqlite_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("REFPORTAL_ENV", "development")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REFPORTAL_INSTANCE_PATH", str(tmp_path))
    assert load_config()["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'refportal.db'}"


def test_fee_schedule_comes_from_configuration(monkeypatch):
    monkeypatch.setenv("REFPORTAL_ENV", "development")
    monkeypatch.setenv(
        "FEE_SCHEDULE_JSON",
        '{"currency": "EUR", "membership": {"1": 40, "2": 40, "3": 40, "4": 40},'
        ' "application": {"1": 10, "2": 20, "3": 20, "4": 20}, "processing": {"1": 5, "2": 5, "3": 5, "4": 5}}',
    )
    schedule = load_config()["FEE_SCHEDULE"]
    assert schedule["currency"] == "EUR" and schedule["membership"][2] == 40


def _env_example() -> dict[str, str]:
    return dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", (ROOT / ".env.example").read_text(), re.M))


# Where .env.example deliberately differs from the default: it is a developer's file to copy and edit.
EXAMPLE_VALUES = {
    "REFPORTAL_ENV": "the example is for a developer machine",
    "MAIL_DEFAULT_SENDER": "an address to replace with one's own",
}


def test_env_example_lists_every_setting_of_the_registry_and_nothing_else():
    assert set(_env_example()) == {setting.name for setting in SETTINGS}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if re.match(r"^[A-Z0-9_]+=", line):
            continue
        assert line == "" or line.startswith("#"), line


def test_the_portal_reads_its_environment_only_through_the_registry():
    """No module reads an environment variable on its own, so the registry (and the docs made from it)
    cannot miss one."""
    readers = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "refportal").rglob("*.py")
        if re.search(r"os\.environ|os\.getenv|getenv\(", path.read_text())
    }
    assert readers == {"refportal/config.py"}
    source = (ROOT / "refportal" / "config.py").read_text()
    # config.py itself reads the environment only in Setting.value and REFPORTAL_ENV's override.
    assert len(re.findall(r"os\.environ", source)) == 2


def test_env_example_values_read_as_the_defaults():
    """Loading .env.example's value of a setting gives what the portal uses without it (in development,
    which the example sets), except the values it must differ in."""
    context = Context(env="development", instance=ROOT / "instance")
    differing = set()
    for name, raw in _env_example().items():
        setting = SETTING[name]
        if setting.read(name, raw, context) != setting.read(name, None, context):
            differing.add(name)
    assert differing == set(EXAMPLE_VALUES) | {"SECRET_KEY"}
    # Both the example's key and no key at all are placeholders: development makes its own.
    assert _env_example()["SECRET_KEY"] in PLACEHOLDER_SECRET_KEYS


def test_every_application_setting_of_the_registry_is_loaded(monkeypatch, tmp_path):
    monkeypatch.setenv("REFPORTAL_ENV", "development")
    monkeypatch.setenv("REFPORTAL_INSTANCE_PATH", str(tmp_path))
    config = load_config()
    for setting in SETTINGS:
        for key in setting.keys:
            assert key in config, setting.name


def test_a_registry_setting_changes_what_the_portal_loads(monkeypatch, tmp_path):
    """The loader reads each setting through the registry: a value set in the environment arrives."""
    monkeypatch.setenv("REFPORTAL_ENV", "development")
    monkeypatch.setenv("REFPORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("QUEUE_COUNT_LIMIT", "77")
    monkeypatch.setenv("REVIEWERS_READ_UNASSIGNED", "false")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "true")
    monkeypatch.setenv("BOUNCE_ADDRESS", "  bounces@example.org ")
    config = load_config()
    assert config["QUEUE_COUNT_LIMIT"] == 77
    assert config["REVIEWERS_READ_UNASSIGNED"] is False
    assert config["SESSION_COOKIE_SECURE"] is True and config["REMEMBER_COOKIE_SECURE"] is True
    assert config["BOUNCE_ADDRESS"] == "bounces@example.org"


def test_referee_role_rules_come_from_the_settings(monkeypatch, make_app):
    import json

    from refportal.config import DEFAULT_REFEREE_ROLE_RULES
    from refportal.references.roles import RefereeRole, rule_for

    rules = json.loads(json.dumps(DEFAULT_REFEREE_ROLE_RULES))
    rules["1"] = {
        "offered": ["supervisor", "rsc_provider", "colleague"],
        "required": [{"description": "your RSC provider", "roles": ["rsc_provider"]}],
    }
    monkeypatch.setenv("REFEREE_ROLE_RULES_JSON", json.dumps(rules))
    app = make_app()
    with app.app_context():
        rule = rule_for(1, None)
    assert rule.offered == (RefereeRole.SUPERVISOR, RefereeRole.RSC_PROVIDER, RefereeRole.COLLEAGUE)
    assert [r.description for r in rule.required] == ["your RSC provider"]


@pytest.mark.parametrize(
    "change",
    [
        lambda rules: rules["2"]["offered"].append("astronaut"),
        lambda rules: rules["2"]["required"].append({"description": "x", "roles": ["supervisee"]}),  # not offered
        lambda rules: rules.pop("4:policy"),
    ],
)
def test_a_bad_referee_role_rule_stops_the_portal(monkeypatch, make_app, change):
    import json

    from refportal.config import DEFAULT_REFEREE_ROLE_RULES, ConfigurationError

    rules = json.loads(json.dumps(DEFAULT_REFEREE_ROLE_RULES))
    change(rules)
    monkeypatch.setenv("REFEREE_ROLE_RULES_JSON", json.dumps(rules))
    with pytest.raises(ConfigurationError, match="REFEREE_ROLE_RULES_JSON"):
        make_app()
