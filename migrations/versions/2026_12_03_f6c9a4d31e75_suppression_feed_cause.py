"""suppression feed cause: each change of the suppression changes feed names the channel it came
by and the ledger event that caused it (null on the rows written before)

Revision ID: f6c9a4d31e75
Revises: e5b8f3c20d64
Create Date: 2026-12-03 10:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'f6c9a4d31e75'
down_revision = 'e5b8f3c20d64'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('suppression_changes', sa.Column('channel', sa.String(length=20), nullable=True))
    op.add_column('suppression_changes', sa.Column('ledger_event_id', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('suppression_changes') as batch_op:
        batch_op.drop_column('ledger_event_id')
        batch_op.drop_column('channel')
