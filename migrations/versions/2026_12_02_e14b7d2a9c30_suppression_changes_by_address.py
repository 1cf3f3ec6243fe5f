"""suppression feed by address: imports read whether a person once left everything of an account

Revision ID: e14b7d2a9c30
Revises: c19e0a7f3b21
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e14b7d2a9c30'
down_revision = 'c19e0a7f3b21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('suppression_changes', schema=None) as batch_op:
        batch_op.create_index('ix_suppression_changes_account_id_email_hash', ['account_id', 'email_hash'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('suppression_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_suppression_changes_account_id_email_hash')
