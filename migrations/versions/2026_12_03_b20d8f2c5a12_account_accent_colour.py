"""account accent colour: #rrggbb of its pages' buttons and links and its mails' buttons (null: the portal's own)

Revision ID: b20d8f2c5a12
Revises: a7d3e5c91b24
Create Date: 2026-12-03 16:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'b20d8f2c5a12'
down_revision = 'a7d3e5c91b24'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('accounts', sa.Column('accent_colour', sa.String(length=7), nullable=True))


def downgrade():
    with op.batch_alter_table('accounts') as batch_op:
        batch_op.drop_column('accent_colour')
