"""account language

Revision ID: a8e3f1c6d9b4
Revises: 32601b836dd0
Create Date: 2026-12-02 13:30:00.000000

Every account's preferred language: the e-mails about its endorsement are in it (English by default).
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a8e3f1c6d9b4"
down_revision = "32601b836dd0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), server_default="en", nullable=False))


def downgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("language")
