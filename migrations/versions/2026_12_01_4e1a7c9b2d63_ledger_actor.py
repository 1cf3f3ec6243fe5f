"""ledger_actor: who acted on each consent event (person, customer, platform, operator, system)
and the API key used; both covered by the event's hash and by the append-only guard

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

# The append-only guard of the initial schema, with the two new columns among those no UPDATE
# may change (only redaction may: personal fields to NULL, redacted_at set once).
_PERSONAL = ("email", "ip", "ip_prefix", "user_agent", "page_url", "pii_salt")
_FIXED_BEFORE = ("id", "account_id", "contact_id", "seq", "type", "occurred_at", "list_id", "source",
                 "message_ref", "consent_text_id", "evidence", "pii_commitments", "prev_hash", "hash")
_FIXED = _FIXED_BEFORE + ("actor", "actor_key_id")

PG_GUARD = """
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
  IF OLD.redacted_at IS NOT NULL AND NEW.redacted_at IS DISTINCT FROM OLD.redacted_at THEN
    RAISE EXCEPTION 'consent_events redaction time is set once';
  END IF;
  RETURN NEW;
END $$;
"""


def _pg_guard(fixed):
    return PG_GUARD.format(
        fixed_changed=" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in fixed),
        personal_not_nulled=" OR ".join(f"(NEW.{c} IS NOT NULL AND NEW.{c} IS DISTINCT FROM OLD.{c})"
                                        for c in _PERSONAL))


def _sqlite_guard(fixed):
    return ("CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events WHEN "
            + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in fixed) + " OR "
            + " OR ".join(f"(NEW.{c} IS NOT NULL AND NEW.{c} IS NOT OLD.{c})" for c in _PERSONAL)
            + " OR (OLD.redacted_at IS NOT NULL AND NEW.redacted_at IS NOT OLD.redacted_at) "
            "BEGIN SELECT RAISE(ABORT, 'consent_events is append-only: only redaction may UPDATE'); END")


def _guard(fixed):
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_pg_guard(fixed))
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS consent_events_no_update")
        op.execute(_sqlite_guard(fixed))


def upgrade():
    # Nullable, no default: events written before keep no actor, so their hashes stay as they were.
    # Plain ADD COLUMN (no table copy), so SQLite keeps the guard triggers on the table.
    op.add_column('consent_events', sa.Column('actor', sa.String(length=20), nullable=True))
    op.add_column('consent_events', sa.Column('actor_key_id', sa.String(length=32), nullable=True))
    _guard(_FIXED)


def downgrade():
    _guard(_FIXED_BEFORE)
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_column('actor_key_id')
        batch_op.drop_column('actor')
