"""demo_account: accounts.demo marks the account that `flask demo` made, so that it never
rewrites a real account's form

Revision ID: e4b7d2a91c05
Revises: e4b7a19c2d50
Create Date: 2026-12-03 09:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e4b7d2a91c05'
down_revision = 'e4b7a19c2d50'
branch_labels = None
depends_on = None


def upgrade():
    # In place on both databases: a batch copy of the table would drop `accounts`, which every
    # other table refers to.
    op.add_column('accounts', sa.Column('demo', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    op.execute("ALTER TABLE accounts DROP COLUMN demo")
