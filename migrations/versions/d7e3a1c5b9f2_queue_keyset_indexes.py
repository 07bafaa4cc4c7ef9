"""the queue's orders by submission as keys without NULLs, and each order within a status and a round, for keyset pages

Revision ID: d7e3a1c5b9f2
Revises: c4f8a2d6e1b9
Create Date: 2026-12-03 08:00:00.000000

The queue pages by keyset: the page after a row is the rows whose (sort key, id) come after the row's.
A NULL submission date would split that into two ranges, so the orders by submission read
coalesce(submitted_at, a stand-in) (a file never submitted last in both orders); and each order has an
index within a status and within a review round too, so a page of the queue filtered by either reads its
rows in order.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "d7e3a1c5b9f2"
down_revision = "c4f8a2d6e1b9"
branch_labels = None
depends_on = None

NEWEST = sa.text("coalesce(submitted_at, '0001-01-01 00:00:00.000001')")
OLDEST = sa.text("coalesce(submitted_at, '9999-12-31 23:59:59.999999')")


def upgrade():
    # The indexes on an expression exist on PostgreSQL only (SQLite cannot reflect them), as the one they replace.
    postgresql = op.get_context().dialect.name == "postgresql"
    if postgresql:
        op.drop_index("ix_application_queue_newest", table_name="application")
    op.drop_index("ix_application_queue_oldest", table_name="application")
    if postgresql:
        op.create_index("ix_application_queue_newest", "application", [NEWEST, "id"], unique=False)
        op.create_index("ix_application_queue_oldest", "application", [OLDEST, "id"], unique=False)
        op.create_index("ix_application_queue_status_newest", "application", ["status", NEWEST, "id"], unique=False)
        op.create_index("ix_application_queue_status_oldest", "application", ["status", OLDEST, "id"], unique=False)
        op.create_index(
            "ix_application_queue_round_newest", "application", ["review_round_id", NEWEST, "id"], unique=False
        )
        op.create_index(
            "ix_application_queue_round_oldest", "application", ["review_round_id", OLDEST, "id"], unique=False
        )
    op.create_index(
        "ix_application_queue_status_created", "application", ["status", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_application_queue_round_created", "application", ["review_round_id", "created_at", "id"], unique=False
    )


def downgrade():
    postgresql = op.get_context().dialect.name == "postgresql"
    op.drop_index("ix_application_queue_round_created", table_name="application")
    op.drop_index("ix_application_queue_status_created", table_name="application")
    if postgresql:
        op.drop_index("ix_application_queue_round_oldest", table_name="application")
        op.drop_index("ix_application_queue_round_newest", table_name="application")
        op.drop_index("ix_application_queue_status_oldest", table_name="application")
        op.drop_index("ix_application_queue_status_newest", table_name="application")
        op.drop_index("ix_application_queue_oldest", table_name="application")
        op.drop_index("ix_application_queue_newest", table_name="application")
    op.create_index("ix_application_queue_oldest", "application", ["submitted_at", "id"], unique=False)
    if postgresql:
        op.create_index(
            "ix_application_queue_newest",
            "application",
            [sa.text("submitted_at DESC NULLS LAST"), sa.text("id DESC")],
            unique=False,
        )
