"""document store and staff-entered ratings

Revision ID: c4d2e8a1f735
Revises: c3e1a9d4f2b7
Create Date: 2026-12-02 09:30:00.000000

One document store (documents, and their bytes when the database backend keeps them), and on a rating
the staff member who entered it from the referee's signed paper form, with that form.
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'c4d2e8a1f735'
down_revision = 'c3e1a9d4f2b7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'document',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.Enum('signed_rating_form', 'transcript', 'certificate', 'rsc_verification', 'resume', name='documentpurpose', native_enum=False, create_constraint=False, length=32), nullable=False),
        sa.Column('filename', sa.String(length=160), nullable=False),
        sa.Column('content_type', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('storage', sa.String(length=16), nullable=False),
        sa.Column('storage_key', sa.String(length=200), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.Column('scan_state', sa.Enum('pending', 'clean', 'quarantined', name='scanstate', native_enum=False, create_constraint=False, length=32), nullable=False),
        sa.Column('scan_attempts', sa.Integer(), nullable=False),
        sa.Column('next_scan_at', sa.DateTime(), nullable=True),
        sa.Column('scanned_at', sa.DateTime(), nullable=True),
        sa.Column('scan_signature', sa.String(length=200), nullable=True),
        sa.Column('last_scan_error', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_document_application_id_application'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_document_uploaded_by_id_user_account'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_document')),
        sa.UniqueConstraint('storage_key', name=op.f('uq_document_storage_key')),
    )
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_application_id'), ['application_id'], unique=False)
        batch_op.create_index('ix_document_scan_due', ['scan_state', 'next_scan_at'], unique=False)
    op.create_table(
        'document_blob',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_document_blob')),
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('signed_form_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_rating_entered_by_id_user_account'), 'user_account', ['entered_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_rating_signed_form_id_document'), 'document', ['signed_form_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_rating_signed_form_id_document'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_rating_entered_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('signed_form_id')
        batch_op.drop_column('entered_by_id')
    op.drop_table('document_blob')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index('ix_document_scan_due')
        batch_op.drop_index(batch_op.f('ix_document_application_id'))
    op.drop_table('document')
