"""endorsement records and the public registry

Revision ID: c3e1a9d4f2b7
Revises: b10ba4b72ac0
Create Date: 2026-12-02 09:30:00.000000

Endorsements become records (a random number, credential, category, the current period and a status
with its history), and endorsees choose whether the public registry lists them. Applications endorsed
before this revision get their record here: issued on the decision's day, valid for twelve months (the
default ENDORSEMENT_RENEWAL_MONTHS), active — so no endorsement is lost.
"""

import secrets
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3e1a9d4f2b7"
down_revision = "b10ba4b72ac0"
branch_labels = None
depends_on = None

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = {"imh-e": "IMH", "ecmh-e": "ECMH"}


def upgrade():
    op.create_table(
        "endorsement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column(
            "credential",
            sa.Enum("imh-e", "ecmh-e", name="credential", native_enum=False, length=32, create_constraint=False),
            nullable=False,
        ),
        sa.Column("category", sa.SmallInteger(), nullable=False),
        sa.Column(
            "mentor_track",
            sa.Enum(
                "clinical",
                "policy",
                "research",
                name="mentortrack",
                native_enum=False,
                length=32,
                create_constraint=False,
            ),
            nullable=True,
        ),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("period_starts_on", sa.Date(), nullable=False),
        sa.Column("period_ends_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "renewal_due",
                "grace",
                "lapsed",
                "relinquished",
                "revoked",
                name="endorsementstatus",
                native_enum=False,
                length=32,
                create_constraint=False,
            ),
            nullable=False,
        ),
        sa.Column("status_changed_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_endorsement_application_id_application"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["user_account.id"], name=op.f("fk_endorsement_holder_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endorsement")),
        sa.UniqueConstraint("application_id", name=op.f("uq_endorsement_application_id")),
        sa.UniqueConstraint("number", name=op.f("uq_endorsement_number")),
    )
    with op.batch_alter_table("endorsement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_endorsement_holder_id"), ["holder_id"], unique=False)
        batch_op.create_index("ix_endorsement_registry", ["status", "credential", "category"], unique=False)
        batch_op.create_index(batch_op.f("ix_endorsement_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "endorsement_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endorsement_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "renewal_due",
                "grace",
                "lapsed",
                "relinquished",
                "revoked",
                name="endorsementstatus",
                native_enum=False,
                length=32,
                create_constraint=False,
            ),
            nullable=False,
        ),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endorsement_id"],
            ["endorsement.id"],
            name=op.f("fk_endorsement_change_endorsement_id_endorsement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endorsement_change")),
    )
    with op.batch_alter_table("endorsement_change", schema=None) as batch_op:
        batch_op.create_index("ix_endorsement_change_endorsement_at", ["endorsement_id", "changed_at"], unique=False)

    op.create_table(
        "registry_listing",
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("show_city", sa.Boolean(), nullable=False),
        sa.Column("city", sa.String(length=120), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["user_account.id"],
            name=op.f("fk_registry_listing_holder_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("holder_id", name=op.f("pk_registry_listing")),
    )
    with op.batch_alter_table("registry_listing", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_listing_updated_at"), ["updated_at"], unique=False)
    _issue_records_for_endorsed_applications()


def _issue_records_for_endorsed_applications():
    connection = op.get_bind()
    application = sa.table(
        "application",
        sa.column("id", sa.Integer),
        sa.column("applicant_id", sa.Integer),
        sa.column("credential", sa.String),
        sa.column("category", sa.SmallInteger),
        sa.column("mentor_track", sa.String),
        sa.column("status", sa.String),
        sa.column("decided_at", sa.DateTime),
    )
    endorsement = sa.table(
        "endorsement",
        sa.column("id", sa.Integer),
        sa.column("number", sa.String),
        sa.column("holder_id", sa.Integer),
        sa.column("application_id", sa.Integer),
        sa.column("credential", sa.String),
        sa.column("category", sa.SmallInteger),
        sa.column("mentor_track", sa.String),
        sa.column("issued_on", sa.Date),
        sa.column("period_starts_on", sa.Date),
        sa.column("period_ends_on", sa.Date),
        sa.column("status", sa.String),
        sa.column("status_changed_at", sa.DateTime),
        sa.column("created_at", sa.DateTime),
        sa.column("updated_at", sa.DateTime),
    )
    change = sa.table(
        "endorsement_change",
        sa.column("endorsement_id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("event", sa.String),
        sa.column("changed_at", sa.DateTime),
    )
    rows = connection.execute(
        sa.select(application).where(application.c.status == "endorsed", application.c.decided_at.is_not(None))
    ).all()
    numbers = set()
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC, as UTCDateTime does
    for row in rows:
        number = _number(row.credential, numbers)
        decided = row.decided_at.date()
        connection.execute(
            endorsement.insert().values(
                number=number,
                holder_id=row.applicant_id,
                application_id=row.id,
                credential=row.credential,
                category=row.category,
                mentor_track=row.mentor_track,
                issued_on=decided,
                period_starts_on=decided,
                period_ends_on=_months_after(decided, 12),
                status="active",
                status_changed_at=row.decided_at,
                created_at=now,
                updated_at=now,
            )
        )
        endorsement_id = connection.execute(
            sa.select(endorsement.c.id).where(endorsement.c.number == number)
        ).scalar_one()
        connection.execute(
            change.insert().values(
                endorsement_id=endorsement_id, status="active", event="issue", changed_at=row.decided_at
            )
        )


def _number(credential, taken):
    while True:
        number = PREFIX[credential] + "-" + "".join(secrets.choice(ALPHABET) for _ in range(8))
        if number not in taken:
            taken.add(number)
            return number


def _months_after(day, months):
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    last_day = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def downgrade():
    op.drop_table("registry_listing")
    with op.batch_alter_table("endorsement_change", schema=None) as batch_op:
        batch_op.drop_index("ix_endorsement_change_endorsement_at")
    op.drop_table("endorsement_change")
    with op.batch_alter_table("endorsement", schema=None) as batch_op:
        batch_op.drop_index("ix_endorsement_registry")
        batch_op.drop_index(batch_op.f("ix_endorsement_updated_at"))
        batch_op.drop_index(batch_op.f("ix_endorsement_holder_id"))
    op.drop_table("endorsement")
