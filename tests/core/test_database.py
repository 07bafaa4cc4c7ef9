"""Production database settings: pool with pre-ping and time-outs; migrations step down and up."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from refportal.config import database_url, engine_options
from refportal.extensions import db


def test_postgres_urls_use_psycopg():
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_engine_options(monkeypatch):
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT_MS", "12345")
    pg = engine_options("postgresql+psycopg://u@h/db")
    assert pg["pool_pre_ping"] and pg["pool_size"] == 5 and pg["pool_timeout"] == 10 and pg["pool_recycle"] == 1800
    assert pg["connect_args"] == {"connect_timeout": 5, "options": "-c statement_timeout=12345"}
    assert engine_options("sqlite:///x.db") == {"pool_pre_ping": True, "connect_args": {"timeout": 15}}


def test_the_settings_reach_the_database(app_ctx):
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SHOW statement_timeout")).scalar() == "30s"
        assert db.engine.pool.size() == 5
    else:
        assert db.engine.dialect.name == "sqlite"


def test_downgrade_one_step_and_upgrade_again(make_app, tmp_path, postgres_schema):
    from tests.support import migrating_app

    with migrating_app(tmp_path, postgres_schema):
        upgrade()
        head = _version()
        downgrade(revision="-1")
        assert _version() != head
        upgrade()
        assert _version() == head


def _version() -> str:
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
