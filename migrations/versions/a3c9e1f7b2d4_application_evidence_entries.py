"""application evidence entries

Revision ID: a3c9e1f7b2d4
Revises: e7b2f4a9c1d6
Create Date: 2026-12-02 14:00:00.000000

An application's eligibility from evidence entries: education and work entries in a portfolio, the
application's portfolio and where its eligibility comes from. Every application whose totals were recorded
before keeps them, as 'self_reported'; every other (and every new one) reads its entries.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a3c9e1f7b2d4"
down_revision = "e7b2f4a9c1d6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "education_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("field_of_study", sa.String(length=200), nullable=False),
        sa.Column("institution", sa.String(length=200), nullable=False),
        sa.Column("year_completed", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolio.id"],
            name=op.f("fk_education_entry_portfolio_id_portfolio"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_education_entry")),
    )
    op.create_index(op.f("ix_education_entry_portfolio_id"), "education_entry", ["portfolio_id"])
    op.create_table(
        "work_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("employer", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("hours_per_week", sa.SmallInteger(), nullable=False),
        sa.Column("serves_0_3", sa.Boolean(), nullable=False),
        sa.Column("serves_3_6", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portfolio_id"], ["portfolio.id"], name=op.f("fk_work_entry_portfolio_id_portfolio"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_entry")),
    )
    op.create_index(op.f("ix_work_entry_portfolio_id"), "work_entry", ["portfolio_id"])
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("eligibility_source", sa.String(length=32), server_default="entries", nullable=False)
        )
        batch_op.add_column(sa.Column("portfolio_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_application_portfolio_id"), ["portfolio_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_application_portfolio_id_portfolio"),
            "portfolio",
            ["portfolio_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Nothing recorded is lost: an application with recorded totals keeps reading them.
    op.execute(
        "UPDATE application SET eligibility_source = 'self_reported' WHERE eligibility_recorded_at IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_application_portfolio_id_portfolio"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_application_portfolio_id"), type_="unique")
        batch_op.drop_column("portfolio_id")
        batch_op.drop_column("eligibility_source")
    op.drop_index(op.f("ix_work_entry_portfolio_id"), table_name="work_entry")
    op.drop_table("work_entry")
    op.drop_index(op.f("ix_education_entry_portfolio_id"), table_name="education_entry")
    op.drop_table("education_entry")
