"""review rounds' progress stored

Revision ID: 7d88963de97d
Revises: d7e3a1c5b9f2
Create Date: 2026-12-03 10:00:00.000000


The rounds page counted every application on each request. Each file's place in its round (reviewers,
reviews of its current cycle, decided) is now a row, and each round keeps how many files have each
combination (refportal/reviews/progress.py keeps both). Both are filled here from the existing rows, so an
upgraded database shows the same counts at once.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "7d88963de97d"
down_revision = "d7e3a1c5b9f2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "review_file_progress",
        sa.Column("application_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("assignments", sa.Integer(), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("decided", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["review_round.id"],
            name=op.f("fk_review_file_progress_round_id_review_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_review_file_progress")),
    )
    with op.batch_alter_table("review_file_progress", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_file_progress_round_id"), ["round_id"], unique=False)

    op.create_table(
        "review_round_tally",
        sa.Column("round_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("assignments", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("reviews", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("decided", sa.Boolean(), autoincrement=False, nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["review_round.id"],
            name=op.f("fk_review_round_tally_round_id_review_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "assignments", "reviews", "decided", name=op.f("pk_review_round_tally")),
    )

    # Each file in a round, withdrawn ones aside (as refportal.reviews.progress counts them), then the
    # rounds' tallies from those rows.
    op.execute(
        "INSERT INTO review_file_progress (application_id, round_id, assignments, reviews, decided) "
        "SELECT a.id, a.review_round_id, "
        "(SELECT count(*) FROM review_assignment ra WHERE ra.application_id = a.id), "
        "(SELECT count(*) FROM review r WHERE r.application_id = a.id AND r.round = a.review_round), "
        "a.status IN ('endorsed', 'deferred', 'denied') "
        "FROM application a WHERE a.review_round_id IS NOT NULL AND a.status <> 'withdrawn'"
    )
    op.execute(
        "INSERT INTO review_round_tally (round_id, assignments, reviews, decided, files) "
        "SELECT round_id, assignments, reviews, decided, count(*) FROM review_file_progress "
        "GROUP BY round_id, assignments, reviews, decided"
    )


def downgrade():
    op.drop_table("review_round_tally")
    with op.batch_alter_table("review_file_progress", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_file_progress_round_id"))

    op.drop_table("review_file_progress")
