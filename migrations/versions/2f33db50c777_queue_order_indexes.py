"""One index per queue order, read in order with a LIMIT, so a queue page costs the same at any size

Revision ID: 2f33db50c777
Revises: 2c5d45bc9a84
Create Date: 2026-11-23 22:10:22.376607

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2f33db50c777'
down_revision = '2c5d45bc9a84'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_application_submitted_at'))
        if op.get_context().dialect.name == 'postgresql':  # SQLite has no NULLS LAST in an index
            batch_op.create_index('ix_application_queue_newest',
                                  [sa.text('submitted_at DESC NULLS LAST'), sa.text('id DESC')], unique=False)
        batch_op.create_index('ix_application_queue_oldest', ['submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_application_queue_created', ['created_at', 'id'], unique=False)

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index('ix_user_account_name', ['name', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index('ix_user_account_name')

    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('ix_application_queue_created')
        batch_op.drop_index('ix_application_queue_oldest')
        if op.get_context().dialect.name == 'postgresql':
            batch_op.drop_index('ix_application_queue_newest')
        batch_op.create_index(batch_op.f('ix_application_submitted_at'), ['submitted_at'], unique=False)
