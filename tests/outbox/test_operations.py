"""The outbox's writers: enqueue_many (references in bulk) and enqueue_webhook, beside enqueue_mail."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal import links
from portal.accounts.models import Account
from portal.db import utcnow
from portal.extensions import db
from portal.outbox import identity, operations
from portal.outbox.models import OutboxStatus
from tests.conftest import outbox


def _references(account, contacts, start):
    sender = identity.for_account(account)
    return [operations.Reference(contact.email, account.id, {"account_id": account.id, "contact_id": contact.id},
                                 "id", sender, start + timedelta(minutes=n)) for n, contact in enumerate(contacts)]


def test_enqueue_many_stores_references_rendered_only_when_sent(app, monkeypatch, create_account, create_contact):
    account = create_account()
    contacts = [create_contact(account) for _ in range(3)]
    start = utcnow() + timedelta(hours=1)
    assert operations.enqueue_many("manage_links", _references(account, contacts, start)) == 3
    rows = outbox("manage_links")
    assert [row.recipient for row in rows] == [contact.email for contact in contacts]
    assert [row.next_attempt_at for row in rows] == [start + timedelta(minutes=n) for n in range(3)]
    for row, contact in zip(rows, contacts):
        assert (row.channel, row.status, row.attempts, row.account_id) == ("mail", OutboxStatus.PENDING, 0, account.id)
        assert row.context == {"account_id": account.id, "contact_id": contact.id}
        assert "subject" not in row.payload and row.payload["locale"] == "id"
        assert row.payload["sender"] == identity.for_account(account)
    # Each its own Message-ID, made as enqueue_mail makes it.
    assert len({row.payload["message_id"] for row in rows}) == 3
    assert all(row.payload["message_id"].endswith(f"@{identity.sending_domain()}>") for row in rows)

    def load(reference):
        contact = next(c for c in contacts if c.id == reference["contact_id"])
        return {"account": db.session.get(Account, reference["account_id"]), "address": contact.email,
                "preferences_url": links.preferences_url(links.Target(contact.id))}

    monkeypatch.setitem(operations._LOADERS, "manage_links", load)
    message = operations.render_message(rows[0])
    assert message["subject"] and links.preferences_url(links.Target(contacts[0].id)) in message["text"]


def test_enqueue_many_of_nothing_writes_nothing(app):
    assert operations.enqueue_many("manage_links", iter(())) == 0
    assert outbox("manage_links") == []


def test_enqueue_webhook_stores_the_signed_call(app, create_account):
    account = create_account()
    message = operations.enqueue_webhook(account.id, url="https://hooks.example/x", event="confirmed",
                                         body='{"a":1}', headers={"X-Portal-Event": "confirmed"})
    db.session.flush()
    (row,) = outbox("confirmed")
    assert row is message
    assert (row.channel, row.recipient, row.account_id, row.status) == (
        "webhook", "https://hooks.example/x", account.id, OutboxStatus.PENDING)
    assert row.payload == {"body": '{"a":1}', "headers": {"X-Portal-Event": "confirmed"}}


def test_a_sent_mail_is_recorded_by_the_hook_its_domain_registered(app, db, create_contact, create_list):
    """The worker records a mail carrying a ``ledger`` entry through outbox.on_sent (the outbox
    imports no domain): the subscriptions domain's hook writes the ledger event, as the system."""
    from sqlalchemy import select

    from portal.consent.models import ConsentEvent
    from portal.outbox import operations
    from portal.subscriptions.operations import record_sent

    assert record_sent in operations._SENT_HOOKS
    mailing_list = create_list()
    contact = create_contact(mailing_list.account, "hook@example.org")
    operations.sent(41, {"type": "confirmation_sent", "contact_id": contact.id, "list_id": mailing_list.id,
                         "source": "import", "evidence": {"import_id": "i1"}}, "<m@portal.test>")
    event = db.session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == contact.id)).one()
    assert (event.type, event.list_id, event.actor, event.message_ref) == (
        "confirmation_sent", mailing_list.id, "system", "<m@portal.test>")
    assert event.evidence["outbox_message_id"] == 41 and event.evidence["import_id"] == "i1"


def test_the_app_alone_registers_the_sent_hook(tmp_path):
    """In a fresh process, the app as ``wsgi.py`` makes it (no test having imported anything)
    registers the hook that writes a sent mail's ledger event: the outbox worker needs it."""
    import os
    import subprocess
    import sys

    script = ("from portal import create_app\n"
              "from portal.config import TestingConfig\n"
              "config = {k: getattr(TestingConfig, k) for k in dir(TestingConfig) if k.isupper()}\n"
              f"config['SQLALCHEMY_DATABASE_URI'] = 'sqlite:///{tmp_path}/hooks.sqlite3'\n"
              "create_app(config)\n"
              "from portal.outbox import operations\n"
              "print([f'{h.__module__}.{h.__name__}' for h in operations._SENT_HOOKS])\n")
    env = {**os.environ, "PORTAL_LEDGER_CREATE_KEYS": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['portal.subscriptions.operations.sent.record_sent']"
