"""Settings come from the environment; production refuses to start without a real secret key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from refportal import create_app
from refportal.config import ConfigurationError, load_config

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


def test_env_example_lists_every_setting_the_portal_reads():
    source = (ROOT / "refportal" / "config.py").read_text()
    read = set(re.findall(r'(?:environ\.get|_int|_json_by_category|_json|_day_list|_decimal)\("([A-Z0-9_]+)"', source))
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - documented == set()
    assert {
        "SECRET_KEY",
        "DATABASE_URL",
        "MAIL_SERVER",
        "MAIL_PORT",
        "MAIL_USERNAME",
        "MAIL_PASSWORD",
        "MAIL_USE_TLS",
        "MAIL_DEFAULT_SENDER",
        "PORTAL_BASE_URL",
    } <= documented
    for line in (ROOT / ".env.example").read_text().splitlines():
        if re.match(r"^[A-Z0-9_]+=", line):
            continue
        assert line == "" or line.startswith("#"), line


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
