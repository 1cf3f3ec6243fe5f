"""The suppression operations called directly: entries, their change feed and webhook, lifting them."""
import pytest
from sqlalchemy import select

from portal.errors import ValidationFailed
from portal.extensions import db
from portal.suppression import operations
from portal.suppression.models import Suppression, SuppressionChange
from tests.conftest import webhook_payloads


@pytest.fixture
def hooked(create_list, create_webhook):
    """A list whose account has a webhook endpoint for ``suppressed``."""
    mailing_list = create_list()
    create_webhook(mailing_list.account_id, "suppressed")
    return mailing_list


def feed() -> list[tuple]:
    """The change feed as its readers see it: committed (its rows are numbered for good at the commit)."""
    db.session.commit()
    return list(db.session.execute(select(SuppressionChange.op, SuppressionChange.email, SuppressionChange.scope,
                                          SuppressionChange.reason, SuppressionChange.channel, SuppressionChange.note)
                                   .order_by(SuppressionChange.seq)))


def test_add_stores_the_entry_feeds_it_and_tells_the_webhooks(hooked):
    account_id = hooked.account_id
    entry = operations.add("ann@example.org", scope="list", reason="hard_bounce", account_id=account_id,
                           list_id=hooked.id, source="api:key1", channel="bounce")

    stored = db.session.get(Suppression, entry.id)
    assert (stored.email, stored.scope, stored.account_id, stored.list_id, stored.reason, stored.source) == (
        "ann@example.org", "list", account_id, hooked.id, "hard_bounce", "api:key1")
    assert feed() == [("add", "ann@example.org", "list", "hard_bounce", "bounce", None)]
    assert webhook_payloads("suppressed") == [{"email": "ann@example.org", "email_hash": stored.email_hash,
                                               "scope": "list", "list_id": hooked.id, "reason": "hard_bounce"}]


def test_adding_again_in_the_same_scope_changes_nothing_and_another_scope_is_its_own_entry(hooked):
    account_id = hooked.account_id
    operations.add("ann@example.org", scope="account", reason="manual", account_id=account_id, channel="api")

    assert operations.add("ann@example.org", scope="account", reason="complaint", account_id=account_id) is None
    assert operations.add("ann@example.org", scope="global", reason="complaint", account_id=account_id) is not None
    assert [(s.scope, s.account_id, s.reason) for s in db.session.scalars(
        select(Suppression).order_by(Suppression.id))] == [("account", account_id, "manual"),
                                                           ("global", None, "complaint")]
    assert [row[2] for row in feed()] == ["account", "global"]
    assert len(webhook_payloads("suppressed")) == 1  # a global entry belongs to no account's webhooks


@pytest.mark.parametrize("scope, reason, account, list_, channel", [
    ("planet", "manual", True, False, None),
    ("account", "dislike", True, False, None),
    ("account", "manual", False, False, None),   # an account entry needs its account
    ("list", "manual", True, False, None),       # a list entry needs its list
    ("account", "manual", True, False, "pigeon"),
])
def test_a_malformed_entry_is_refused_and_nothing_is_stored(create_list, scope, reason, account, list_, channel):
    mailing_list = create_list()
    with pytest.raises(ValidationFailed) as caught:
        operations.add("ann@example.org", scope=scope, reason=reason,
                       account_id=mailing_list.account_id if account else None,
                       list_id=mailing_list.id if list_ else None, channel=channel)
    assert caught.value.code == "validation_failed"
    assert db.session.scalars(select(Suppression)).all() == [] and feed() == []


def test_remove_lifts_the_entry_and_keeps_why_in_the_feed(create_account):
    account = create_account()
    entry = operations.add("ann@example.org", scope="account", reason="manual", account_id=account.id)
    with pytest.raises(ValidationFailed) as caught:
        operations.remove(entry, note="  ")
    assert caught.value.code == "validation_failed" and operations.find(
        "ann@example.org", scope="account", account_id=account.id) is not None

    assert operations.remove(entry, note="asked by the person", source="operator:ana", channel="api") is True
    assert operations.find("ann@example.org", scope="account", account_id=account.id) is None
    assert feed()[-1] == ("remove", "ann@example.org", "account", "manual", "api", "asked by the person")


def test_entries_for_are_the_global_the_accounts_and_that_lists(create_list):
    mailing_list = create_list()
    other_list = create_list(mailing_list.account)
    account_id = mailing_list.account_id
    operations.add("ann@example.org", scope="global", reason="complaint")
    operations.add("ann@example.org", scope="account", reason="manual", account_id=account_id)
    operations.add("ann@example.org", scope="list", reason="unsubscribed", account_id=account_id,
                   list_id=other_list.id)

    scopes = {entry.scope for entry in operations.entries_for("ann@example.org", account_id, mailing_list.id)}
    assert scopes == {"global", "account"}  # the other list's entry does not stop this list's mail
    assert len(operations.entries_for("ann@example.org", account_id)) == 3
    assert operations.entries_for("bob@example.org", account_id) == []


def test_add_many_adds_the_new_entries_once_and_feeds_each(create_list):
    mailing_list = create_list()
    account_id = mailing_list.account_id
    operations.add("ann@example.org", scope="account", reason="manual", account_id=account_id)

    added, already = operations.add_many([("ann@example.org", "manual", None), ("bob@example.org", "hard_bounce", None),
                                          ("bob@example.org", "unsubscribed", mailing_list.id)],
                                         account_id=account_id, source="import:1", channel="api")

    assert (added, already) == (2, 1)
    assert sorted((s.email, s.scope, s.reason) for s in db.session.scalars(select(Suppression))) == [
        ("ann@example.org", "account", "manual"), ("bob@example.org", "account", "hard_bounce"),
        ("bob@example.org", "list", "unsubscribed")]
    assert sorted(row[1:5] for row in feed()[1:]) == [("bob@example.org", "account", "hard_bounce", "api"),
                                                      ("bob@example.org", "list", "unsubscribed", "api")]


def test_a_refusal_after_add_takes_the_entry_back_with_the_transaction(create_account):
    """``add`` writes in a SAVEPOINT; on SQLite that savepoint used to be the whole transaction when
    nothing had been written before it (pysqlite began a transaction only before a write), so its
    RELEASE committed the entry and a later refusal in the same request could not take it back."""
    account = create_account()
    db.session.commit()
    operations.add("ann@example.org", scope="account", reason="manual", account_id=account.id, source="t")
    db.session.rollback()  # what the error handler does when the request's next step refuses
    assert db.session.scalars(select(Suppression)).all() == []
    assert db.session.scalars(select(SuppressionChange)).all() == []


def test_the_api_actions_take_the_asking_key_and_no_request(create_contact, create_api_key):
    """Outside any request (as a CLI or a worker would), each action is given the key that asks: an
    account key may not pose as the subscriber (reserved reason), the platform may; the ledger
    event and the feed name that key."""
    from portal.consent.models import ConsentEvent
    from portal.errors import Forbidden

    contact = create_contact()
    account = contact.account
    customer, _ = create_api_key("account", account)
    platform, _ = create_api_key("platform")
    with pytest.raises(Forbidden) as caught:
        operations.actions.add(account, contact.email, reason="unsubscribed", list_id=None, note=None, key=customer)
    assert caught.value.code == "reserved_reason"
    assert db.session.scalars(select(Suppression)).all() == []

    entries = operations.actions.add(account, contact.email, reason="complaint", list_id=None, note="fbl",
                                     key=platform)
    assert [(e.scope, e.reason, e.source) for e in entries] == [("account", "complaint", f"api_key:{platform.id}")]
    event = db.session.scalars(select(ConsentEvent).where(ConsentEvent.type == "suppressed")).one()
    assert (event.source, event.actor, event.actor_key_id) == (f"api_key:{platform.id}", "platform", platform.id)
    with pytest.raises(Forbidden) as caught:
        operations.actions.remove(account, contact.email, reason="mistake", list_id=None, key=customer)
    assert caught.value.code == "complaint_suppression"
    assert operations.actions.remove(account, contact.email, reason="mistake", list_id=None, key=platform) == []
