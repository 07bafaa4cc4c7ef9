"""outbox return path of the accepted transmission

Revision ID: b10ba4b72ac0
Revises: 9f90fc38b50a
Create Date: 2026-11-29 12:00:00.000000

The sender now records the envelope sender of the transmission the server accepted, and Message-IDs
are signed (`<outbox-N.<signature>@host>`). Rows sent before this revision keep return_path NULL: a
delivery report names them only through their VERP address. Rows not yet sent had their message built
with the old, unsigned Message-ID: their stored wire message is dropped, so the sender builds it afresh
(with the signed Message-ID) when it sends them, as it does for rows queued before wire_message existed.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b10ba4b72ac0'
down_revision = '9f90fc38b50a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('return_path', sa.String(length=254), nullable=True))
    op.execute("UPDATE outbox_email SET wire_message = NULL WHERE status IN ('queued', 'sending')")


def downgrade():
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.drop_column('return_path')
