"""imports: list imports with their attestation, and the rows they refused

Revision ID: d6ae1e7f70f8
Revises: a5c0e1f2b3d4
Create Date: 2026-11-25 03:05:18.156401

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'd6ae1e7f70f8'
down_revision = 'a5c0e1f2b3d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('imports',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('list_id', sa.String(length=32), nullable=False),
    sa.Column('api_key_id', sa.String(length=32), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('file_bytes', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attestation', sa.Text(), nullable=False),
    sa.Column('consent_method', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('confirmed', sa.Integer(), nullable=False),
    sa.Column('pending', sa.Integer(), nullable=False),
    sa.Column('refused', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_imports_account_id_accounts')),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_imports_api_key_id_api_keys')),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_imports_list_id_lists')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports'))
    )
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imports_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_imports_list_id'), ['list_id'], unique=False)

    op.create_table('import_refused_rows',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('import_id', sa.String(length=32), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('email_hash', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_import_refused_rows_import_id_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_refused_rows'))
    )
    with op.batch_alter_table('import_refused_rows', schema=None) as batch_op:
        batch_op.create_index('ix_import_refused_rows_import_id_email_hash', ['import_id', 'email_hash'], unique=False)



def downgrade():
    with op.batch_alter_table('import_refused_rows', schema=None) as batch_op:
        batch_op.drop_index('ix_import_refused_rows_import_id_email_hash')

    op.drop_table('import_refused_rows')
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imports_list_id'))
        batch_op.drop_index(batch_op.f('ix_imports_account_id'))

    op.drop_table('imports')
