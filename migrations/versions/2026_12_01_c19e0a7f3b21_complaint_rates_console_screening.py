"""complaint_rates_console_screening: hourly delivered counts (filled from delivery_events)
and an index on complaints for the complaint rates, the console's operators, flagged messages

Revision ID: c19e0a7f3b21
Revises: cb1d1ed7114c
Create Date: 2026-12-01 19:42:31.708417

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'c19e0a7f3b21'
down_revision = 'cb1d1ed7114c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('operators',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('totp_secret', sa.String(length=64), nullable=False),
    sa.Column('totp_last_step', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_signin_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operators')),
    sa.UniqueConstraint('username', name=op.f('uq_operators_username'))
    )
    op.create_table('flagged_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('matches', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('excerpt', sa.Text(), nullable=True),
    sa.Column('checks', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_flagged_messages_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flagged_messages')),
    sa.UniqueConstraint('account_id', 'content_sha256', name=op.f('uq_flagged_messages_account_id_content_sha256'))
    )
    with op.batch_alter_table('flagged_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flagged_messages_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index('ix_complaints_account_created', ['account_id', 'created_at'], unique=False)

    op.create_table('delivery_counts',
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_delivery_counts_account_id_accounts')),
    sa.PrimaryKeyConstraint('account_id', 'hour', name=op.f('pk_delivery_counts'))
    )
    # The deliveries reported before this release, counted by the hour (as the models store it).
    if op.get_bind().dialect.name == 'postgresql':
        hour = "date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    else:
        hour = "strftime('%Y-%m-%d %H:00:00.000000', at)"
    op.execute(f"INSERT INTO delivery_counts (account_id, hour, delivered) SELECT account_id, {hour}, count(*) "
               f"FROM delivery_events WHERE type = 'delivered' GROUP BY account_id, {hour}")



def downgrade():
    op.drop_table('delivery_counts')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_complaints_account_created')

    with op.batch_alter_table('flagged_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flagged_messages_account_id'))

    op.drop_table('flagged_messages')
    op.drop_table('operators')
