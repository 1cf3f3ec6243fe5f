"""imports as background jobs: the upload stored in chunks, progress, lease; outbox mails as references

Revision ID: cb1d1ed7114c
Revises: c18e4d0a9b27
Create Date: 2026-12-01 19:50:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'cb1d1ed7114c'
down_revision = 'c18e4d0a9b27'
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
_BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bytes_read', _BIG, nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('worker', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('error_code', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('error_message', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('error_row', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_imports_status'), ['status'], unique=False)
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.alter_column('bytes_read', server_default=None)
        batch_op.alter_column('attempts', server_default=None)
    # Imports ran inside the request until now: a finished one was called "done".
    op.execute("UPDATE imports SET status = 'finished', bytes_read = file_bytes WHERE status = 'done'")
    op.execute("UPDATE imports SET status = 'failed', error_code = 'interrupted', "
               "error_message = 'The import was interrupted.' WHERE status = 'running'")

    op.create_table('import_upload_chunks',
    sa.Column('import_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_import_upload_chunks_import_id_imports')),
    sa.PrimaryKeyConstraint('import_id', 'seq', name=op.f('pk_import_upload_chunks'))
    )

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('context', _JSON, nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('context')
    op.drop_table('import_upload_chunks')
    op.execute("UPDATE imports SET status = 'done' WHERE status = 'finished'")
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imports_status'))
        for column in ('error_row', 'error_message', 'error_code', 'attempts', 'lease_until', 'worker',
                       'started_at', 'bytes_read'):
            batch_op.drop_column(column)
