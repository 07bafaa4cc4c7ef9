"""name tails for the registry's search

Revision ID: b3c9e2d4f6a1
Revises: 7d88963de97d
Create Date: 2026-12-04 15:30:00.000000

The registry's search by name read every name that contains the searched text (the trigram index) and
sorted them, so its cost grew with the names that match. It now matches the start of a name or of any later
word (a surname): each account's name from each of its words on is a row of user_name_tail, and a search
reads one range of ix_user_name_tail_search in the order of its results until its page is full. The rows
are filled here from the existing names, as refportal.accounts.models.name_tails gave them on this day.
"""

import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b3c9e2d4f6a1"
down_revision = "7d88963de97d"
branch_labels = None
depends_on = None

WORD_BREAK = re.compile(r"[\s\-\u2010-\u2015]+")
TAIL_LENGTH = 120
BATCH = 1000


def name_tails(name):
    words = [word for word in WORD_BREAK.split(name.casefold()) if word]
    return [" ".join(words[start:])[:TAIL_LENGTH] for start in range(len(words))]


def upgrade():
    tails = op.create_table(
        "user_name_tail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column(
            "tail",
            sa.String(length=TAIL_LENGTH).with_variant(sa.String(length=TAIL_LENGTH, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_user_name_tail_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_name_tail")),
    )
    with op.batch_alter_table("user_name_tail", schema=None) as batch_op:
        batch_op.create_index("ix_user_name_tail_search", ["tail", "name", "user_id"], unique=False)
        batch_op.create_index("ix_user_name_tail_user_id", ["user_id", "position"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # A finer histogram of the tails: a prefix's range is estimated from the buckets it spans.
        op.execute("ALTER TABLE user_name_tail ALTER COLUMN tail SET STATISTICS 1000")

    conn = op.get_bind()
    accounts = conn.execute(sa.text("SELECT id, name FROM user_account ORDER BY id")).all()
    for start in range(0, len(accounts), BATCH):
        rows = [
            {"user_id": account_id, "position": position, "tail": tail, "name": name}
            for account_id, name in accounts[start : start + BATCH]
            for position, tail in enumerate(name_tails(name))
        ]
        if rows:
            op.bulk_insert(tails, rows)


def downgrade():
    with op.batch_alter_table("user_name_tail", schema=None) as batch_op:
        batch_op.drop_index("ix_user_name_tail_user_id")
        batch_op.drop_index("ix_user_name_tail_search")
    op.drop_table("user_name_tail")
