"""ledger proof: keyed event hashes (consent_events.mac), signed checkpoints (seq, events_root,
key_id, signature), and database guards: no TRUNCATE of the ledger, checkpoints insert-only,
personal fields nulled only with redacted_at

Events written before this revision keep ``mac`` NULL; ``flask ledger seal --adopt-legacy``
(once) seals them into the first signed checkpoint, which then vouches for them. Checkpoints
before it keep no signature and are verified as before, chained to by the first signed one.

Revision ID: c18e4d0a9b27
Revises: 4e1a7c9b2d63
Create Date: 2026-12-01 19:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'c18e4d0a9b27'
down_revision = '4e1a7c9b2d63'
branch_labels = None
depends_on = None

_PERSONAL = ("email", "ip", "ip_prefix", "user_agent", "page_url", "pii_salt")
_FIXED = ("id", "account_id", "contact_id", "seq", "type", "occurred_at", "list_id", "source",
          "message_ref", "consent_text_id", "evidence", "pii_commitments", "prev_hash", "hash",
          "actor", "actor_key_id")


def _pg_guard(fixed, redaction_rule):
    """The consent_events row guard of PostgreSQL (the initial one, or this revision's)."""
    return """
CREATE OR REPLACE FUNCTION consent_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'consent_events is append-only: DELETE refused';
  END IF;
  IF {fixed_changed} THEN
    RAISE EXCEPTION 'consent_events is append-only: only redaction may UPDATE';
  END IF;
  IF {personal_not_nulled} THEN
    RAISE EXCEPTION 'consent_events redaction may only set personal fields to NULL';
  END IF;
  {redaction_rule}
  IF OLD.redacted_at IS NOT NULL AND NEW.redacted_at IS DISTINCT FROM OLD.redacted_at THEN
    RAISE EXCEPTION 'consent_events redaction time is set once';
  END IF;
  RETURN NEW;
END $$;
""".format(
        fixed_changed=" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in fixed),
        personal_not_nulled=" OR ".join(f"(NEW.{c} IS NOT NULL AND NEW.{c} IS DISTINCT FROM OLD.{c})"
                                        for c in _PERSONAL),
        redaction_rule=redaction_rule,
    )


def _nulled_without_redaction(new="NEW", old="OLD"):
    """True when a personal field goes NULL without ``redacted_at`` (retention may drop the IP alone)."""
    others = [f"({old}.{c} IS NOT NULL AND {new}.{c} IS NULL)" for c in _PERSONAL if c != "ip"]
    ip = f"({old}.ip IS NOT NULL AND {new}.ip IS NULL AND {new}.ip_prefix IS NULL)"
    return f"{new}.redacted_at IS NULL AND ({' OR '.join(others + [ip])})"


PG_REDACTION_RULE = f"""IF {_nulled_without_redaction()} THEN
    RAISE EXCEPTION 'consent_events personal fields are nulled only with redacted_at';
  END IF;"""

PG_GUARDS = """
CREATE FUNCTION ledger_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME;
END $$;
CREATE TRIGGER consent_events_no_truncate BEFORE TRUNCATE ON consent_events
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate();
CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON ledger_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate();
CREATE FUNCTION ledger_checkpoints_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger_checkpoints is insert-only: % refused', TG_OP;
END $$;
CREATE TRIGGER ledger_checkpoints_insert_only BEFORE UPDATE OR DELETE ON ledger_checkpoints
  FOR EACH ROW EXECUTE FUNCTION ledger_checkpoints_guard();
"""

PG_DROP_GUARDS = """
DROP TRIGGER IF EXISTS consent_events_no_truncate ON consent_events;
DROP TRIGGER IF EXISTS ledger_checkpoints_no_truncate ON ledger_checkpoints;
DROP TRIGGER IF EXISTS ledger_checkpoints_insert_only ON ledger_checkpoints;
DROP FUNCTION IF EXISTS ledger_no_truncate();
DROP FUNCTION IF EXISTS ledger_checkpoints_guard();
"""


def _sqlite_update_guard(fixed, with_redaction_rule):
    condition = (" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in fixed) + " OR "
                 + " OR ".join(f"(NEW.{c} IS NOT NULL AND NEW.{c} IS NOT OLD.{c})" for c in _PERSONAL)
                 + " OR (OLD.redacted_at IS NOT NULL AND NEW.redacted_at IS NOT OLD.redacted_at)")
    if with_redaction_rule:
        condition += f" OR ({_nulled_without_redaction()})"
    return ("CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events WHEN " + condition
            + " BEGIN SELECT RAISE(ABORT, 'consent_events is append-only: only redaction may UPDATE'); END")


SQLITE_CHECKPOINT_GUARDS = [
    "CREATE TRIGGER ledger_checkpoints_no_update BEFORE UPDATE ON ledger_checkpoints "
    "BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is insert-only: UPDATE refused'); END",
    "CREATE TRIGGER ledger_checkpoints_no_delete BEFORE DELETE ON ledger_checkpoints "
    "BEGIN SELECT RAISE(ABORT, 'ledger_checkpoints is insert-only: DELETE refused'); END",
]


def upgrade():
    dialect = op.get_bind().dialect.name
    op.add_column('consent_events', sa.Column('mac', sa.String(length=64), nullable=True))
    with op.batch_alter_table('ledger_checkpoints') as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('events_root', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('signature', sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_ledger_checkpoints_seq'), ['seq'])
    # Checkpoints sealed before this revision: their place in the chain, in id order.
    op.execute("UPDATE ledger_checkpoints SET seq = (SELECT count(*) FROM ledger_checkpoints AS c "
               "WHERE c.id <= ledger_checkpoints.id)")
    if dialect == "postgresql":
        op.execute(_pg_guard(_FIXED + ("mac",), PG_REDACTION_RULE))
        op.execute(PG_GUARDS)
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS consent_events_no_update")
        op.execute(_sqlite_update_guard(_FIXED + ("mac",), True))
        for statement in SQLITE_CHECKPOINT_GUARDS:
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_DROP_GUARDS)
        op.execute(_pg_guard(_FIXED, ""))
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ledger_checkpoints_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_checkpoints_no_delete")
        op.execute("DROP TRIGGER IF EXISTS consent_events_no_update")
        op.execute(_sqlite_update_guard(_FIXED, False))
    with op.batch_alter_table('ledger_checkpoints') as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_ledger_checkpoints_seq'), type_='unique')
        batch_op.drop_column('signature')
        batch_op.drop_column('key_id')
        batch_op.drop_column('events_root')
        batch_op.drop_column('seq')
    if dialect == "sqlite":
        # SQLite drops a column only by rebuilding the table, and the rebuild drops its triggers.
        op.execute("DROP TRIGGER IF EXISTS consent_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS consent_events_no_delete")
    with op.batch_alter_table('consent_events') as batch_op:
        batch_op.drop_column('mac')
    if dialect == "sqlite":
        op.execute("CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events "
                   "BEGIN SELECT RAISE(ABORT, 'consent_events is append-only: DELETE refused'); END")
        op.execute(_sqlite_update_guard(_FIXED, False))
