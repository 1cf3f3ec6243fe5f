"""The unsubscribe operations called directly: subscription, suppression, ledger event and webhook at once."""
import pytest
from sqlalchemy import select

from portal import links
from portal.consent.evidence import RequestEvidence
from portal.consent.operations import events_for_contact
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.preferences import operations
from portal.subscriptions.holders import holder_of
from portal.subscriptions.models import Subscription
from portal.suppression.models import Suppression, SuppressionChange
from tests.conftest import webhook_payloads

ON_PAGE = RequestEvidence(source="link", ip="203.0.113.5", user_agent="Mozilla/5.0 Test",
                          message_ref="<m1@platform.example>")


@pytest.fixture
def hooked(create_subscription, create_webhook):
    """A confirmed subscription whose account has a webhook endpoint for ``unsubscribed``."""
    subscription = create_subscription()
    create_webhook(subscription.contact.account_id, "unsubscribed")
    return subscription


def holder(subscription, list_id: str | None = "same"):
    """The holder of a link naming the subscription's contact and list (or ``list_id``)."""
    return holder_of(links.Target(subscription.contact_id, subscription.list_id if list_id == "same" else list_id))


def status(subscription) -> str:
    db.session.expire_all()
    return db.session.get(Subscription, subscription.id).status


def suppressions(contact) -> list[tuple]:
    return [(s.scope, s.list_id, s.reason, s.source)
            for s in db.session.scalars(select(Suppression).where(Suppression.email == contact.email))]


def events(contact, type_: str) -> list:
    return [event for event in events_for_contact(contact.id) if event.type == type_]


def test_unsubscribe_from_a_list_ends_it_suppresses_it_and_records_the_persons_event(hooked):
    contact = hooked.contact
    outcome = operations.unsubscribe(holder(hooked), "list", ON_PAGE)

    assert outcome.changed and outcome.lists == [hooked.list_id] and outcome.restorable == [hooked.list_id]
    assert status(hooked) == "unsubscribed"
    assert suppressions(contact) == [("list", hooked.list_id, "unsubscribed", "unsubscribe:link")]
    [event] = events(contact, "unsubscribed")
    assert event.id == outcome.event_id
    assert (event.source, event.list_id, event.actor) == ("link", hooked.list_id, "person")
    assert (event.ip, event.user_agent, event.message_ref) == (ON_PAGE.ip, ON_PAGE.user_agent, ON_PAGE.message_ref)
    assert event.evidence["scope"] == "list" and event.evidence["previous_status"] == "confirmed"
    assert event.evidence["restorable"]["lists"] == [hooked.list_id]
    [change] = db.session.scalars(select(SuppressionChange)).all()
    assert (change.op, change.channel, change.ledger_event_id) == ("add", "link", event.id)
    assert webhook_payloads("unsubscribed") == [{"contact_id": contact.id, "email": contact.email,
                                                 "list_id": hooked.list_id, "channel": "link"}]


def test_a_repeated_unsubscribe_changes_nothing_and_records_nothing(hooked):
    operations.unsubscribe(holder(hooked), "list", ON_PAGE)
    again = operations.unsubscribe(holder(hooked), "list", ON_PAGE)

    assert not again.changed and again.event_id is None and again.lists == []
    assert len(events(hooked.contact, "unsubscribed")) == 1
    assert len(suppressions(hooked.contact)) == 1 and len(webhook_payloads("unsubscribed")) == 1


def test_unsubscribe_from_the_account_ends_every_list_with_an_event_each_and_one_for_all(
        create_subscription, create_list):
    first = create_subscription()
    other_list = create_list(first.contact.account)
    second = create_subscription(first.contact, other_list)
    outcome = operations.unsubscribe(holder(first), "account", RequestEvidence(source="one_click"))

    assert outcome.scope == "account" and sorted(outcome.lists) == sorted([first.list_id, second.list_id])
    assert status(first) == status(second) == "unsubscribed"
    assert suppressions(first.contact) == [("account", None, "unsubscribed", "unsubscribe:one_click")]
    unsubscribed = events(first.contact, "unsubscribed")
    assert [e.list_id for e in unsubscribed] == [first.list_id, second.list_id, None]
    assert {e.source for e in unsubscribed} == {"one_click"}
    assert unsubscribed[-1].id == outcome.event_id
    assert sorted(unsubscribed[-1].evidence["lists"]) == sorted(outcome.lists)


def test_a_pending_subscription_is_cancelled_and_nothing_is_offered_back(create_subscription):
    pending = create_subscription(status="pending")
    outcome = operations.unsubscribe(holder(pending), "list", ON_PAGE)

    assert status(pending) == "unsubscribed" and outcome.restorable == []
    [event] = events(pending.contact, "unsubscribed")
    assert event.evidence["previous_status"] == "pending" and event.evidence["restorable"]["lists"] == []


def test_an_unknown_scope_or_channel_is_refused_and_changes_nothing(create_subscription):
    subscription = create_subscription()
    with pytest.raises(ValidationFailed) as caught:
        operations.unsubscribe(holder(subscription), "everything", ON_PAGE)
    assert caught.value.code == "validation_failed"
    with pytest.raises(ValidationFailed) as caught:
        operations.unsubscribe(holder(subscription), "list", RequestEvidence(source="carrier_pigeon"))
    assert caught.value.code == "validation_failed"
    assert status(subscription) == "confirmed" and suppressions(subscription.contact) == []
    assert events(subscription.contact, "unsubscribed") == []


def test_the_reason_is_an_event_of_its_own_with_only_its_code(create_subscription):
    subscription = create_subscription()
    operations.unsubscribe(holder(subscription), "list", ON_PAGE)
    event = operations.record_reason(holder(subscription), "too_frequent", ON_PAGE)

    assert (event.type, event.source, event.list_id) == ("unsubscribe_reason", "link", subscription.list_id)
    assert event.evidence == {"reason": "too_frequent"}
    with pytest.raises(ValidationFailed) as caught:
        operations.record_reason(holder(subscription), "I just do not like you", ON_PAGE)
    assert caught.value.code == "validation_failed"
    assert len(events(subscription.contact, "unsubscribe_reason")) == 1


def test_the_operation_flushes_and_leaves_the_commit_to_its_caller(create_subscription):
    subscription = create_subscription()
    operations.unsubscribe(holder(subscription), "list", ON_PAGE)
    db.session.rollback()

    assert status(subscription) == "confirmed" and suppressions(subscription.contact) == []
    assert events(subscription.contact, "unsubscribed") == []
