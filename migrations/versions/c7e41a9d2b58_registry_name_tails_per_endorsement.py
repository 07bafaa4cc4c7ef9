"""name tails per endorsement, with its credential and category, for the registry's search

Revision ID: c7e41a9d2b58
Revises: b3c9e2d4f6a1
Create Date: 2026-12-04 19:30:00.000000

The registry's search by name read the tails of every account (user_name_tail) in order and joined each to
its endorsement, so a common word with a rare credential or category read as many tails as it took to find
a page of them (one in thirty-five, at the bench's mix). The tails are now one row per endorsement and word
of its holder's name (registry_name_tail), beside the endorsement's number, credential and category, with
an index beginning with each searched combination: a search reads one range of the index of its filters in
the order of its results. Accounts without an endorsement have no tails. The rows are filled here from the
existing endorsements and names, as refportal.accounts.models.name_tails gave them on this day;
user_name_tail is dropped (and rebuilt from the names on a downgrade).
"""

import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c7e41a9d2b58"
down_revision = "b3c9e2d4f6a1"
branch_labels = None
depends_on = None

WORD_BREAK = re.compile(r"[\s\-\u2010-\u2015]+")
TAIL_LENGTH = 120
BATCH = 1000
RESULT_ORDER = ["tail", "name", "holder_id", "number"]


def name_tails(name):
    words = [word for word in WORD_BREAK.split(name.casefold()) if word]
    return [" ".join(words[start:])[:TAIL_LENGTH] for start in range(len(words))]


def tail_column():
    return sa.Column(
        "tail",
        sa.String(length=TAIL_LENGTH).with_variant(sa.String(length=TAIL_LENGTH, collation="C"), "postgresql"),
        nullable=False,
    )


def fill(table, rows_of, statement):
    """Insert rows_of(row) for each row of `statement`, BATCH rows at a time."""
    found = op.get_bind().execute(sa.text(statement)).all()
    for start in range(0, len(found), BATCH):
        rows = [tail for row in found[start : start + BATCH] for tail in rows_of(row)]
        if rows:
            op.bulk_insert(table, rows)


def upgrade():
    tails = op.create_table(
        "registry_name_tail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endorsement_id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        tail_column(),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column(
            "credential", sa.Enum("imh-e", "ecmh-e", name="credential", native_enum=False, length=32), nullable=False
        ),
        sa.Column("category", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endorsement_id"],
            ["endorsement.id"],
            name=op.f("fk_registry_name_tail_endorsement_id_endorsement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["user_account.id"],
            name=op.f("fk_registry_name_tail_holder_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_name_tail")),
    )
    with op.batch_alter_table("registry_name_tail", schema=None) as batch_op:
        batch_op.create_index("ix_registry_name_tail_search", RESULT_ORDER, unique=False)
        batch_op.create_index("ix_registry_name_tail_credential", ["credential", *RESULT_ORDER], unique=False)
        batch_op.create_index("ix_registry_name_tail_category", ["category", *RESULT_ORDER], unique=False)
        batch_op.create_index(
            "ix_registry_name_tail_credential_category", ["credential", "category", *RESULT_ORDER], unique=False
        )
        batch_op.create_index("ix_registry_name_tail_endorsement", ["endorsement_id", "position"], unique=False)
        batch_op.create_index("ix_registry_name_tail_holder_id", ["holder_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # A finer histogram of the tails: a prefix's range is estimated from the buckets it spans.
        op.execute("ALTER TABLE registry_name_tail ALTER COLUMN tail SET STATISTICS 1000")

    fill(
        tails,
        lambda row: [
            {
                "endorsement_id": row.id,
                "holder_id": row.holder_id,
                "position": position,
                "tail": tail,
                "name": row.name,
                "number": row.number,
                "credential": row.credential,
                "category": row.category,
            }
            for position, tail in enumerate(name_tails(row.name))
        ],
        "SELECT endorsement.id, endorsement.holder_id, user_account.name, endorsement.number, "
        "endorsement.credential, endorsement.category "
        "FROM endorsement JOIN user_account ON user_account.id = endorsement.holder_id ORDER BY endorsement.id",
    )

    with op.batch_alter_table("user_name_tail", schema=None) as batch_op:
        batch_op.drop_index("ix_user_name_tail_user_id")
        batch_op.drop_index("ix_user_name_tail_search")
    op.drop_table("user_name_tail")


def downgrade():
    tails = op.create_table(
        "user_name_tail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        tail_column(),
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
        op.execute("ALTER TABLE user_name_tail ALTER COLUMN tail SET STATISTICS 1000")
    fill(
        tails,
        lambda row: [
            {"user_id": row.id, "position": position, "tail": tail, "name": row.name}
            for position, tail in enumerate(name_tails(row.name))
        ],
        "SELECT id, name FROM user_account ORDER BY id",
    )

    with op.batch_alter_table("registry_name_tail", schema=None) as batch_op:
        for index in (
            "ix_registry_name_tail_holder_id",
            "ix_registry_name_tail_endorsement",
            "ix_registry_name_tail_credential_category",
            "ix_registry_name_tail_category",
            "ix_registry_name_tail_credential",
            "ix_registry_name_tail_search",
        ):
            batch_op.drop_index(index)
    op.drop_table("registry_name_tail")
