"""content_per_locale: consent texts per locale (a version is one row per language), form
headings, and translations of list names, descriptions and form headings (issue 20)

Revision ID: b20c7e1a4f11
Revises: b20d8f2c5a12
Create Date: 2026-12-03 16:40:00

"""
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'b20c7e1a4f11'
down_revision = 'b20d8f2c5a12'
branch_labels = None
depends_on = None

# Every existing text was written in its account's language (the default text is, and so the API's).
BACKFILL_LOCALE = """
UPDATE consent_texts SET locale = COALESCE(
  (SELECT accounts.locale FROM forms JOIN accounts ON accounts.id = forms.account_id
   WHERE forms.id = consent_texts.form_id), 'en')
"""


#: ``{}``: every existing list and form has no translation yet.
EMPTY = sa.text("'{}'")


def _json():
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


@contextmanager
def _foreign_keys_off_on_sqlite():
    """SQLite alters a table by copying it and dropping the original; with foreign keys on, that
    DROP fails while consent events name its rows. ``PRAGMA foreign_keys`` only works outside a
    transaction (SQLite's DDL here is not transactional anyway), and the keys are checked after."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    raw = bind.connection.dbapi_connection
    raw.commit()
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
        raw.commit()
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def upgrade():
    for table in ('lists', 'forms'):
        op.add_column(table, sa.Column('translations', _json(), server_default=EMPTY, nullable=False))
    op.add_column('forms', sa.Column('heading', sa.String(length=200), nullable=True))
    op.add_column('consent_texts', sa.Column('locale', sa.String(length=10), nullable=True))
    op.execute(BACKFILL_LOCALE)
    with _foreign_keys_off_on_sqlite(), op.batch_alter_table('consent_texts') as batch_op:
        batch_op.alter_column('locale', existing_type=sa.String(length=10), nullable=False)
        batch_op.drop_constraint('uq_consent_texts_form_id_version', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_consent_texts_form_id_version_locale'),
                                          ['form_id', 'version', 'locale'])


def downgrade():
    # A version in two languages has two rows the ledger may name: one of them cannot go.
    several = op.get_bind().execute(sa.text(
        "SELECT form_id, version FROM consent_texts GROUP BY form_id, version HAVING COUNT(*) > 1")).first()
    if several is not None:
        raise RuntimeError(f"form {several[0]} has consent text version {several[1]} in several languages: "
                           "the ledger may refer to each row, so this migration cannot go down")
    with _foreign_keys_off_on_sqlite():
        with op.batch_alter_table('consent_texts') as batch_op:
            batch_op.drop_constraint('uq_consent_texts_form_id_version_locale', type_='unique')
            batch_op.create_unique_constraint(batch_op.f('uq_consent_texts_form_id_version'), ['form_id', 'version'])
            batch_op.drop_column('locale')
        with op.batch_alter_table('forms') as batch_op:
            batch_op.drop_column('translations')
            batch_op.drop_column('heading')
        with op.batch_alter_table('lists') as batch_op:
            batch_op.drop_column('translations')
