"""ledger checkpoints v3: each leaf commits to its event's id and whether it is the newest of its
chain in the checkpoint (so a proof bundle cannot leave out later events it sealed), the roots of
each 1024 leaves (a proof reads one chunk), an index to find an event's checkpoint; on SQLite the
redaction rule gets a trigger (and a message) of its own, as on PostgreSQL

Checkpoints sealed before keep ``version`` NULL (signed ones are version 2) and verify as before.

Revision ID: d4a7e2b91c53
Revises: e4b7d2a91c05
Create Date: 2026-12-03 08:30:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'd4a7e2b91c53'
down_revision = 'e4b7d2a91c05'
branch_labels = None
depends_on = None

_PERSONAL = ("email", "ip", "ip_prefix", "user_agent", "page_url", "pii_salt")
_FIXED = ("id", "account_id", "contact_id", "seq", "type", "occurred_at", "list_id", "source",
          "message_ref", "consent_text_id", "evidence", "pii_commitments", "prev_hash", "hash",
          "actor", "actor_key_id", "mac")
_NULLED_WITHOUT_REDACTION = (
    "NEW.redacted_at IS NULL AND ("
    + " OR ".join([f"(OLD.{c} IS NOT NULL AND NEW.{c} IS NULL)" for c in _PERSONAL if c != "ip"]
                  + ["(OLD.ip IS NOT NULL AND NEW.ip IS NULL AND NEW.ip_prefix IS NULL)"]) + ")")


def _sqlite_update_guard(with_redaction_rule: bool) -> str:
    condition = (" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _FIXED) + " OR "
                 + " OR ".join(f"(NEW.{c} IS NOT NULL AND NEW.{c} IS NOT OLD.{c})" for c in _PERSONAL)
                 + " OR (OLD.redacted_at IS NOT NULL AND NEW.redacted_at IS NOT OLD.redacted_at)")
    if with_redaction_rule:
        condition += f" OR ({_NULLED_WITHOUT_REDACTION})"
    return ("CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events WHEN " + condition
            + " BEGIN SELECT RAISE(ABORT, 'consent_events is append-only: only redaction may UPDATE'); END")


SQLITE_REDACTION_GUARD = (
    "CREATE TRIGGER consent_events_redaction_only BEFORE UPDATE ON consent_events WHEN "
    + _NULLED_WITHOUT_REDACTION
    + " BEGIN SELECT RAISE(ABORT, 'consent_events personal fields are nulled only with redacted_at'); END")

SQLITE_CHECKPOINT_GUARDS = [
    "CREATE TRIGGER ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints "
    "BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is insert-only: UPDATE refused'); END",
    "CREATE TRIGGER ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints "
    "BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is insert-only: DELETE refused'); END",
]


def upgrade():
    op.add_column('ledger_checkpoints', sa.Column('version', sa.Integer(), nullable=True))
    op.add_column('ledger_checkpoints', sa.Column(
        'chunks', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
    op.create_index(op.f('ix_ledger_checkpoints_last_event_id'), 'ledger_checkpoints', ['last_event_id'],
                    unique=False)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS consent_events_no_update")
        op.execute(_sqlite_update_guard(False))
        op.execute(SQLITE_REDACTION_GUARD)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS consent_events_redaction_only")
        op.execute("DROP TRIGGER IF EXISTS consent_events_no_update")
        op.execute(_sqlite_update_guard(True))
    op.drop_index(op.f('ix_ledger_checkpoints_last_event_id'), table_name='ledger_checkpoints')
    with op.batch_alter_table('ledger_checkpoints') as batch_op:
        batch_op.drop_column('chunks')
        batch_op.drop_column('version')
    if dialect == "sqlite":
        # SQLite drops a column by rebuilding the table, and the rebuild drops its triggers.
        for name in ("ledger_checkpoints_no_update", "ledger_checkpoints_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in SQLITE_CHECKPOINT_GUARDS:
            op.execute(statement)
