"""reinstatement of a lapsed endorsement

Revision ID: e7b2f4a9c1d6
Revises: a8e3f1c6d9b4
Create Date: 2026-12-02 13:40:00.000000

An application may reinstate a lapsed endorsement (application.reinstates_endorsement_id); at most one
open application per endorsement does (a partial unique index on the open statuses).
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "e7b2f4a9c1d6"
down_revision = "a8e3f1c6d9b4"
branch_labels = None
depends_on = None

OPEN = "status IN ('draft', 'submitted', 'more_info_requested')"


def upgrade():
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reinstates_endorsement_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_application_reinstates_endorsement_id"), ["reinstates_endorsement_id"], unique=False
        )
        batch_op.create_index(
            "uq_application_open_reinstatement",
            ["reinstates_endorsement_id"],
            unique=True,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_application_reinstates_endorsement_id_endorsement"),
            "endorsement",
            ["reinstates_endorsement_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_application_reinstates_endorsement_id_endorsement"), type_="foreignkey"
        )
        batch_op.drop_index("uq_application_open_reinstatement")
        batch_op.drop_index(batch_op.f("ix_application_reinstates_endorsement_id"))
        batch_op.drop_column("reinstates_endorsement_id")
