"""ledger_actor: who acted on each consent event (person, customer, platform, operator, system)
and the API key used; both covered by the event's hash from now on

Revision ID: 4e1a7c9b2d63
Revises: a7c3e9d21b44
Create Date: 2026-12-01 19:50:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '4e1a7c9b2d63'
down_revision = 'a7c3e9d21b44'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable, no default: events written before keep no actor, so their hashes stay as they were.
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('actor_key_id', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_column('actor_key_id')
        batch_op.drop_column('actor')
