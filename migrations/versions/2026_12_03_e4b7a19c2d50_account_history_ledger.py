"""account history ledger: account_status_changes keeps who decided (operator_id), the decision
and the note, is chained per account (seq, prev_hash, hash) and is append-only (database guards
refuse UPDATE and DELETE on both databases, TRUNCATE on PostgreSQL)

Changes recorded before this revision are chained here, in id order per account, with the
payload of portal/accounts/history.py (version 1, copied below so that this revision keeps
computing what it computed when it was written).

Revision ID: e4b7a19c2d50
Revises: e14b7d2a9c30
Create Date: 2026-12-03 09:00:00

"""
import hashlib
import json
from datetime import timezone

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e4b7a19c2d50'
down_revision = 'e14b7d2a9c30'
branch_labels = None
depends_on = None

GENESIS = "0" * 64

PG_GUARDS = """
CREATE FUNCTION account_status_changes_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'account_status_changes is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER account_status_changes_append_only BEFORE UPDATE OR DELETE ON account_status_changes
  FOR EACH ROW EXECUTE FUNCTION account_status_changes_guard();
CREATE TRIGGER account_status_changes_no_truncate BEFORE TRUNCATE ON account_status_changes
  FOR EACH STATEMENT EXECUTE FUNCTION account_status_changes_guard();
"""

PG_DROP_GUARDS = """
DROP TRIGGER IF EXISTS account_status_changes_append_only ON account_status_changes;
DROP TRIGGER IF EXISTS account_status_changes_no_truncate ON account_status_changes;
DROP FUNCTION IF EXISTS account_status_changes_guard();
"""

SQLITE_GUARDS = [
    "CREATE TRIGGER account_status_changes_no_update BEFORE UPDATE ON account_status_changes "
    "BEGIN SELECT RAISE(ABORT, 'account_status_changes is append-only: UPDATE refused'); END",
    "CREATE TRIGGER account_status_changes_no_delete BEFORE DELETE ON account_status_changes "
    "BEGIN SELECT RAISE(ABORT, 'account_status_changes is append-only: DELETE refused'); END",
]

changes = sa.table(
    "account_status_changes", sa.column("id", sa.Integer), sa.column("account_id", sa.String),
    sa.column("seq", sa.Integer), sa.column("from_status", sa.String), sa.column("to_status", sa.String),
    sa.column("reason", sa.String), sa.column("evidence", sa.JSON), sa.column("actor", sa.String),
    sa.column("operator_id", sa.Integer), sa.column("decision", sa.String), sa.column("note", sa.Text),
    sa.column("created_at", sa.DateTime(timezone=True)), sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String))


def _at(value):
    """The change's time as ``portal.db.isoformat`` writes it (SQLite gives it back without a zone)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _hash(row, seq, prev_hash):
    """Version 1 of portal.accounts.history.change_hash, over a row from before this revision."""
    evidence = row.evidence if not isinstance(row.evidence, str) else json.loads(row.evidence)
    payload = {"account_id": row.account_id, "seq": seq, "from_status": row.from_status,
               "to_status": row.to_status, "reason": row.reason, "evidence": evidence or {},
               "actor": row.actor, "operator_id": None, "decision": None, "note": None,
               "at": _at(row.created_at), "prev_hash": prev_hash}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    return hashlib.sha256(canonical).hexdigest()


def _chain_existing():
    """Give the changes recorded so far their place in their account's chain, in id order."""
    bind = op.get_bind()
    last = {}
    rows = bind.execute(sa.select(changes).order_by(changes.c.account_id, changes.c.id)).all()
    for row in rows:
        seq, prev_hash = last.get(row.account_id, (0, GENESIS))
        digest = _hash(row, seq + 1, prev_hash)
        bind.execute(changes.update().where(changes.c.id == row.id)
                     .values(seq=seq + 1, prev_hash=prev_hash, hash=digest))
        last[row.account_id] = (seq + 1, digest)


def upgrade():
    dialect = op.get_bind().dialect.name
    for column in (sa.Column('seq', sa.Integer(), nullable=True),
                   sa.Column('operator_id', sa.Integer(), nullable=True),
                   sa.Column('decision', sa.String(length=20), nullable=True),
                   sa.Column('note', sa.Text(), nullable=True),
                   sa.Column('prev_hash', sa.String(length=64), nullable=True),
                   sa.Column('hash', sa.String(length=64), nullable=True)):
        op.add_column('account_status_changes', column)
    _chain_existing()
    with op.batch_alter_table('account_status_changes', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_account_status_changes_account_id_seq'),
                                          ['account_id', 'seq'])
        batch_op.create_foreign_key(batch_op.f('fk_account_status_changes_operator_id_operators'),
                                    'operators', ['operator_id'], ['id'])
    # The guards come last: SQLite's batch rebuilds the table, which would drop its triggers.
    if dialect == 'postgresql':
        op.execute(PG_GUARDS)
    elif dialect == 'sqlite':
        for statement in SQLITE_GUARDS:
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(PG_DROP_GUARDS)
    elif dialect == 'sqlite':
        op.execute("DROP TRIGGER IF EXISTS account_status_changes_no_update")
        op.execute("DROP TRIGGER IF EXISTS account_status_changes_no_delete")
    with op.batch_alter_table('account_status_changes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_account_status_changes_operator_id_operators'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_account_status_changes_account_id_seq'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('note')
        batch_op.drop_column('decision')
        batch_op.drop_column('operator_id')
        batch_op.drop_column('seq')
