"""delivery events

Revision ID: a6d3c1e9b204
Revises: d6ae1e7f70f8
Create Date: 2026-11-25 03:04:23.075818

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a6d3c1e9b204'
down_revision = 'd6ae1e7f70f8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('delivery_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('message_id', sa.String(length=500), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('email_hash', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_delivery_events_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_events')),
    sa.UniqueConstraint('account_id', 'message_id', 'type', 'email_hash', name=op.f('uq_delivery_events_account_id_message_id_type_email_hash'))
    )


def downgrade():
    op.drop_table('delivery_events')
