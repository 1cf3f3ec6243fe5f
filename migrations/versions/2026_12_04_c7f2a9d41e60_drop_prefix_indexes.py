"""drop prefix indexes: contacts (account_id), subscriptions (contact_id) and consent_events
(account_id) each duplicate the leading column of a wider index on the same table (unique
(account_id, email_hash), unique (contact_id, list_id), (account_id, id)), which answers every
query by that column; each extra index is one more write per imported row (issue 17)

Revision ID: c7f2a9d41e60
Revises: b20c7e1a4f11
Create Date: 2026-12-04 17:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c7f2a9d41e60'
down_revision = 'b20c7e1a4f11'
branch_labels = None
depends_on = None

#: (table, index, column) of each index dropped.
INDEXES = [
    ('contacts', 'ix_contacts_account_id', 'account_id'),
    ('subscriptions', 'ix_subscriptions_contact_id', 'contact_id'),
    ('consent_events', 'ix_consent_events_account_id', 'account_id'),
]


def upgrade():
    for table, name, _column in INDEXES:
        op.drop_index(name, table_name=table)


def downgrade():
    for table, name, column in INDEXES:
        op.create_index(name, table, [column], unique=False)
