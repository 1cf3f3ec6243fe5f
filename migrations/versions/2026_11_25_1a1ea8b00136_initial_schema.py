"""initial schema

Revision ID: 1a1ea8b00136
Revises: 
Create Date: 2026-11-25 02:51:25.270316

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '1a1ea8b00136'
down_revision = None
branch_labels = None
depends_on = None


# The ledger is append-only: the database itself refuses to delete an event or to change one,
# except for redaction (personal fields set to NULL, redacted_at set once).
_PERSONAL = ("email", "ip", "ip_prefix", "user_agent", "page_url", "pii_salt")
_FIXED = ("id", "account_id", "contact_id", "seq", "type", "occurred_at", "list_id", "source",
          "message_ref", "consent_text_id", "evidence", "pii_commitments", "prev_hash", "hash")

PG_LEDGER_GUARD = """
CREATE FUNCTION consent_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events
  FOR EACH ROW EXECUTE FUNCTION consent_events_guard();
""".format(
    fixed_changed=" OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _FIXED),
    personal_not_nulled=" OR ".join(f"(NEW.{c} IS NOT NULL AND NEW.{c} IS DISTINCT FROM OLD.{c})" for c in _PERSONAL),
)

SQLITE_LEDGER_GUARD = [
    "CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events "
    "BEGIN SELECT RAISE(ABORT, 'consent_events is append-only: DELETE refused'); END",
    "CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events WHEN "
    + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _FIXED) + " OR "
    + " OR ".join(f"(NEW.{c} IS NOT NULL AND NEW.{c} IS NOT OLD.{c})" for c in _PERSONAL)
    + " OR (OLD.redacted_at IS NOT NULL AND NEW.redacted_at IS NOT OLD.redacted_at) "
    "BEGIN SELECT RAISE(ABORT, 'consent_events is append-only: only redaction may UPDATE'); END",
]


def _create_ledger_guard():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_LEDGER_GUARD)
    elif op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_LEDGER_GUARD:
            op.execute(statement)


def _drop_ledger_guard():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS consent_events_append_only ON consent_events")
        op.execute("DROP FUNCTION IF EXISTS consent_events_guard()")
    elif op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS consent_events_no_delete")
        op.execute("DROP TRIGGER IF EXISTS consent_events_no_update")


def upgrade():
    op.create_table('accounts',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('postal_address', sa.Text(), nullable=True),
    sa.Column('contact_email', sa.String(length=320), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts'))
    )
    op.create_table('ledger_checkpoints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('first_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last_event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('prev_digest', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_checkpoints')),
    sa.UniqueConstraint('prev_digest', name=op.f('uq_ledger_checkpoints_prev_digest'))
    )
    op.create_table('account_status_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=False),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=100), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_account_status_changes_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_status_changes'))
    )
    with op.batch_alter_table('account_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_status_changes_account_id'), ['account_id'], unique=False)

    op.create_table('api_keys',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=True),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_api_keys_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys'))
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_account_id'), ['account_id'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('email_hash', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_contacts_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('account_id', 'email_hash', name=op.f('uq_contacts_account_id_email_hash'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_account_id'), ['account_id'], unique=False)

    op.create_table('forms',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('allowed_origins', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('redirect_url', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_forms_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forms'))
    )
    with op.batch_alter_table('forms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forms_account_id'), ['account_id'], unique=False)

    op.create_table('lists',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_lists_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lists'))
    )
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lists_account_id'), ['account_id'], unique=False)

    op.create_table('consent_texts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('form_id', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name=op.f('fk_consent_texts_form_id_forms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_texts')),
    sa.UniqueConstraint('form_id', 'version', name=op.f('uq_consent_texts_form_id_version'))
    )
    with op.batch_alter_table('consent_texts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_texts_form_id'), ['form_id'], unique=False)

    op.create_table('form_lists',
    sa.Column('form_id', sa.String(length=32), nullable=False),
    sa.Column('list_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name=op.f('fk_form_lists_form_id_forms')),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_form_lists_list_id_lists')),
    sa.PrimaryKeyConstraint('form_id', 'list_id', name=op.f('pk_form_lists'))
    )
    op.create_table('consent_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.String(length=32), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=30), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('list_id', sa.String(length=32), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('message_ref', sa.String(length=500), nullable=True),
    sa.Column('consent_text_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('ip_prefix', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.Text(), nullable=True),
    sa.Column('page_url', sa.Text(), nullable=True),
    sa.Column('pii_salt', sa.String(length=32), nullable=True),
    sa.Column('pii_commitments', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('redacted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_consent_events_account_id_accounts')),
    sa.ForeignKeyConstraint(['consent_text_id'], ['consent_texts.id'], name=op.f('fk_consent_events_consent_text_id_consent_texts')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_consent_events_contact_id_contacts')),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_consent_events_list_id_lists')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_events')),
    sa.UniqueConstraint('contact_id', 'seq', name=op.f('uq_consent_events_contact_id_seq'))
    )
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_events_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_events_list_id'), ['list_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_events_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('signup_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('form_id', sa.String(length=32), nullable=True),
    sa.Column('consent_text_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('list_ids', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('source', sa.String(length=50), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('declined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['consent_text_id'], ['consent_texts.id'], name=op.f('fk_signup_requests_consent_text_id_consent_texts')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_signup_requests_contact_id_contacts')),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name=op.f('fk_signup_requests_form_id_forms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signup_requests'))
    )
    with op.batch_alter_table('signup_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signup_requests_contact_id'), ['contact_id'], unique=False)

    op.create_table('subscriptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('list_id', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_contacted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('soft_bounces', sa.Integer(), nullable=False),
    sa.Column('signup_request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_subscriptions_contact_id_contacts')),
    sa.ForeignKeyConstraint(['list_id'], ['lists.id'], name=op.f('fk_subscriptions_list_id_lists')),
    sa.ForeignKeyConstraint(['signup_request_id'], ['signup_requests.id'], name=op.f('fk_subscriptions_signup_request_id_signup_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('contact_id', 'list_id', name=op.f('uq_subscriptions_contact_id_list_id'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_list_id'), ['list_id'], unique=False)

    # ### end Alembic commands ###
    _create_ledger_guard()


def downgrade():
    _drop_ledger_guard()
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_list_id'))
        batch_op.drop_index(batch_op.f('ix_subscriptions_contact_id'))

    op.drop_table('subscriptions')
    with op.batch_alter_table('signup_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signup_requests_contact_id'))

    op.drop_table('signup_requests')
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_events_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_consent_events_list_id'))
        batch_op.drop_index(batch_op.f('ix_consent_events_account_id'))

    op.drop_table('consent_events')
    op.drop_table('form_lists')
    with op.batch_alter_table('consent_texts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_texts_form_id'))

    op.drop_table('consent_texts')
    with op.batch_alter_table('lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lists_account_id'))

    op.drop_table('lists')
    with op.batch_alter_table('forms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_forms_account_id'))

    op.drop_table('forms')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_account_id'))

    op.drop_table('contacts')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_keys_account_id'))

    op.drop_table('api_keys')
    with op.batch_alter_table('account_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_status_changes_account_id'))

    op.drop_table('account_status_changes')
    op.drop_table('ledger_checkpoints')
    op.drop_table('accounts')
    # ### end Alembic commands ###
