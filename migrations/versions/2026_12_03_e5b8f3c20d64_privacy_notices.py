"""privacy notices: versions per account and the platform's default (insert-only, as the ledger
records them), and the paced mailing that announces each version before it takes effect

Revision ID: e5b8f3c20d64
Revises: d4a7e2b91c53
Create Date: 2026-12-03 09:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'e5b8f3c20d64'
down_revision = 'd4a7e2b91c53'
branch_labels = None
depends_on = None

PG_GUARD = """
CREATE FUNCTION privacy_notices_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'privacy_notices is insert-only: % refused', TG_OP;
END $$;
CREATE TRIGGER privacy_notices_insert_only BEFORE UPDATE OR DELETE ON privacy_notices
  FOR EACH ROW EXECUTE FUNCTION privacy_notices_guard();
CREATE TRIGGER privacy_notices_no_truncate BEFORE TRUNCATE ON privacy_notices
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate();
"""
SQLITE_GUARDS = [
    "CREATE TRIGGER privacy_notices_no_update BEFORE UPDATE ON privacy_notices "
    "BEGIN SELECT RAISE(ABORT, 'privacy_notices is insert-only: UPDATE refused'); END",
    "CREATE TRIGGER privacy_notices_no_delete BEFORE DELETE ON privacy_notices "
    "BEGIN SELECT RAISE(ABORT, 'privacy_notices is insert-only: DELETE refused'); END",
]


def upgrade():
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    op.create_table('privacy_notices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('owner', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('effective_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('content', json_type, nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_privacy_notices_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_notices')),
    sa.UniqueConstraint('owner', 'version', name=op.f('uq_privacy_notices_owner_version'))
    )
    op.create_index('ix_privacy_notices_owner_effective_at', 'privacy_notices', ['owner', 'effective_at'], unique=False)
    op.create_table('privacy_notice_mailings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('notice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('per_minute', sa.Integer(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_chunk', sa.Integer(), nullable=False),
    sa.Column('after_contact_id', sa.BigInteger(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('queued', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['notice_id'], ['privacy_notices.id'],
                            name=op.f('fk_privacy_notice_mailings_notice_id_privacy_notices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_notice_mailings')),
    sa.UniqueConstraint('notice_id', name=op.f('uq_privacy_notice_mailings_notice_id'))
    )
    op.create_index(op.f('ix_privacy_notice_mailings_status'), 'privacy_notice_mailings', ['status'], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_GUARD)
    elif dialect == "sqlite":
        for statement in SQLITE_GUARDS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS privacy_notices_insert_only ON privacy_notices")
        op.execute("DROP TRIGGER IF EXISTS privacy_notices_no_truncate ON privacy_notices")
        op.execute("DROP FUNCTION IF EXISTS privacy_notices_guard()")
    op.drop_index(op.f('ix_privacy_notice_mailings_status'), table_name='privacy_notice_mailings')
    op.drop_table('privacy_notice_mailings')
    op.drop_index('ix_privacy_notices_owner_effective_at', table_name='privacy_notices')
    op.drop_table('privacy_notices')
