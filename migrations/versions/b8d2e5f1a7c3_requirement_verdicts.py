"""requirement verdicts

Revision ID: b8d2e5f1a7c3
Revises: a3c9e1f7b2d4
Create Date: 2026-12-02 15:00:00.000000

The reviewers' item-by-item verdicts on a file: one row per verdict, the highest version of an
application's requirement its current one.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b8d2e5f1a7c3"
down_revision = "a3c9e1f7b2d4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "requirement_verdict",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("requirement", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_requirement_verdict_application_id_application"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["user_account.id"],
            name=op.f("fk_requirement_verdict_reviewer_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requirement_verdict")),
        sa.UniqueConstraint("application_id", "requirement", "version", name="uq_requirement_verdict_version"),
    )
    op.create_index(op.f("ix_requirement_verdict_application_id"), "requirement_verdict", ["application_id"])


def downgrade():
    op.drop_index(op.f("ix_requirement_verdict_application_id"), table_name="requirement_verdict")
    op.drop_table("requirement_verdict")
