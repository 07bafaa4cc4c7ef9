"""The Alembic migrations build the schema from empty and agree with the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from refportal import create_app
from refportal.extensions import db
from tests.conftest import base_config, reset_postgres


def _empty_database_app(tmp_path, postgres_schema):
    if postgres_schema is None:
        return create_app(base_config(tmp_path, f"sqlite:///{tmp_path / 'migrated.db'}")), None
    engine = sa.create_engine(postgres_schema)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    return create_app(base_config(tmp_path, postgres_schema)), engine


def test_upgrade_from_empty_matches_the_models_and_downgrades_to_empty(tmp_path, postgres_schema):
    app, pg_engine = _empty_database_app(tmp_path, postgres_schema)
    try:
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                differences = compare_metadata(context, db.metadata)
                tables = set(sa.inspect(conn).get_table_names())
            assert differences == []
            assert {t.name for t in db.metadata.sorted_tables} <= tables

            downgrade(revision="base")
            with db.engine.connect() as conn:
                assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}

            upgrade()  # and up again from empty
            with db.engine.connect() as conn:
                assert {t.name for t in db.metadata.sorted_tables} <= set(sa.inspect(conn).get_table_names())
            db.session.remove()
            db.engine.dispose()
    finally:
        if pg_engine is not None:
            reset_postgres(pg_engine)
            pg_engine.dispose()
