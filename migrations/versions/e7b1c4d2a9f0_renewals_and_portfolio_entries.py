"""renewals and portfolio entries

Revision ID: e7b1c4d2a9f0
Revises: d5a7c2e9b381
Create Date: 2026-12-02 13:40:00.000000

A year's renewal of an endorsement (membership, attestations, staff's decision) with its portfolio: the
training and reflective supervision/consultation entries that make its hours.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "e7b1c4d2a9f0"
down_revision = "d5a7c2e9b381"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "portfolio",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolio")),
    )
    op.create_table(
        "training_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("hours", sa.Numeric(6, 2), nullable=False),
        sa.Column("about_rsc", sa.Boolean(), nullable=False),
        sa.Column("about_dei", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolio.id"],
            name=op.f("fk_training_entry_portfolio_id_portfolio"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_entry")),
    )
    op.create_index(op.f("ix_training_entry_portfolio_id"), "training_entry", ["portfolio_id"])
    op.create_table(
        "rsc_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("provider_credential", sa.String(length=120), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("hours", sa.Numeric(6, 2), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portfolio_id"], ["portfolio.id"], name=op.f("fk_rsc_entry_portfolio_id_portfolio"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rsc_entry")),
    )
    op.create_index(op.f("ix_rsc_entry_portfolio_id"), "rsc_entry", ["portfolio_id"])
    op.create_table(
        "endorsement_renewal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endorsement_id", sa.Integer(), nullable=False),
        sa.Column("period_ends_on", sa.Date(), nullable=False),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("provides_rsc", sa.Boolean(), nullable=False),
        sa.Column("association", sa.String(length=32), nullable=True),
        sa.Column("association_name", sa.String(length=120), nullable=True),
        sa.Column("member_number", sa.String(length=40), nullable=True),
        sa.Column("membership_expires_on", sa.Date(), nullable=True),
        sa.Column("membership_status", sa.String(length=32), nullable=False),
        sa.Column("membership_verified_at", sa.DateTime(), nullable=True),
        sa.Column("membership_verified_by_id", sa.Integer(), nullable=True),
        sa.Column("membership_verification_source", sa.String(length=32), nullable=True),
        sa.Column("membership_note", sa.String(length=500), nullable=True),
        sa.Column("attestations", sa.JSON(), nullable=False),
        sa.Column("attested_at", sa.DateTime(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("staff_message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endorsement_id"],
            ["endorsement.id"],
            name=op.f("fk_endorsement_renewal_endorsement_id_endorsement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"], ["portfolio.id"], name=op.f("fk_endorsement_renewal_portfolio_id_portfolio")
        ),
        sa.ForeignKeyConstraint(
            ["membership_verified_by_id"],
            ["user_account.id"],
            name=op.f("fk_endorsement_renewal_membership_verified_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_endorsement_renewal_decided_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endorsement_renewal")),
        sa.UniqueConstraint("endorsement_id", "period_ends_on", name="uq_endorsement_renewal_period"),
        sa.UniqueConstraint("portfolio_id", name=op.f("uq_endorsement_renewal_portfolio_id")),
    )
    op.create_index("ix_endorsement_renewal_status", "endorsement_renewal", ["status", "submitted_at"])


def downgrade():
    op.drop_index("ix_endorsement_renewal_status", table_name="endorsement_renewal")
    op.drop_table("endorsement_renewal")
    op.drop_index(op.f("ix_rsc_entry_portfolio_id"), table_name="rsc_entry")
    op.drop_table("rsc_entry")
    op.drop_index(op.f("ix_training_entry_portfolio_id"), table_name="training_entry")
    op.drop_table("training_entry")
    op.drop_table("portfolio")
