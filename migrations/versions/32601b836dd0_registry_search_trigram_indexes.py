"""the registry's search by part of a name or a city reads trigram indexes (PostgreSQL)

Revision ID: 32601b836dd0
Revises: e7b1c4d2a9f0
Create Date: 2026-12-02 13:40:00.000000

The registry searches `lower(user_account.name) LIKE '%term%'` and `lower(registry_listing.city) LIKE
'%term%'`: on PostgreSQL a GIN index of the same expression's trigrams (pg_trgm) answers both without
reading every row. SQLite gets nothing (its registry is small).
"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "32601b836dd0"
down_revision = "e7b1c4d2a9f0"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_user_account_name_trgm ON user_account USING gin (lower(name) gin_trgm_ops)")
    op.execute("CREATE INDEX ix_registry_listing_city_trgm ON registry_listing USING gin (lower(city) gin_trgm_ops)")


def downgrade():
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_registry_listing_city_trgm")
    op.execute("DROP INDEX ix_user_account_name_trgm")
    # The extension stays: other databases' objects or a later migration may use it.
