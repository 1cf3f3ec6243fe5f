"""account display name: a short name for pages and the From of its mails (null: the account's name)

Revision ID: a7d3e5c91b24
Revises: f6c9a4d31e75
Create Date: 2026-12-03 12:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'a7d3e5c91b24'
down_revision = 'f6c9a4d31e75'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('accounts', sa.Column('display_name', sa.String(length=60), nullable=True))


def downgrade():
    with op.batch_alter_table('accounts') as batch_op:
        batch_op.drop_column('display_name')
