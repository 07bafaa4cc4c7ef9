"""endorsement notices of the annual cycle

Revision ID: d5a7c2e9b381
Revises: c3d5e7f9a1b2
Create Date: 2026-12-02 10:50:00.000000

The notices the worker's endorsement job sent (the renewal window open, reminders, grace, the lapse):
each kind at most once per endorsement and period.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "d5a7c2e9b381"
down_revision = "c3d5e7f9a1b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "endorsement_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endorsement_id", sa.Integer(), nullable=False),
        sa.Column("period_ends_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endorsement_id"],
            ["endorsement.id"],
            name=op.f("fk_endorsement_notice_endorsement_id_endorsement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endorsement_notice")),
        sa.UniqueConstraint("endorsement_id", "period_ends_on", "kind", name="uq_endorsement_notice"),
    )


def downgrade():
    op.drop_table("endorsement_notice")
