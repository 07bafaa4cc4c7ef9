"""reference draft version

Revision ID: c3d5e7f9a1b2
Revises: c4d2e8a1f735
Create Date: 2026-12-02 09:20:00.000000

Every save of a referee's draft raises draft_version; a save (a step of the rating form, or an
answer saved as it is given) names the version it was made from, so a stale tab cannot write over a
newer draft.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3d5e7f9a1b2'
down_revision = 'c4d2e8a1f735'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reference', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draft_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('reference', schema=None) as batch_op:
        batch_op.drop_column('draft_version')
