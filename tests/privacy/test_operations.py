"""Export (all and only the person's data) and erasure (nothing personal left, suppression kept)."""
import json
from datetime import timedelta

from sqlalchemy import select

from portal.consent import operations as consent_operations
from portal.consent.models import ConsentEvent
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.privacy import operations
from portal.subscriptions.models import Subscription
from portal.suppression.operations import entries_for
from tests.privacy.conftest import scan


def test_export_holds_all_of_the_persons_data(people):
    person, _bystander = people
    document = operations.export_contact(person.contact)

    assert document["contact"]["email"] == person.email and document["contact"]["name"] == person.name
    assert {s["list_id"]: s["status"] for s in document["subscriptions"]} == {
        person.lists[0].id: "confirmed", person.lists[1].id: "pending"}
    events = document["consent_events"]
    assert [e["type"] for e in events] == ["confirmed", "signup_requested", "confirmation_sent"]
    signup = events[1]
    assert signup["ip"] == person.ip and signup["user_agent"] == person.user_agent
    assert signup["evidence"]["page_url"] == person.page_url
    assert signup["consent_text"]["text"] == "Yes, mail me news. Unsubscribe any time."
    assert signup["consent_text"]["version"] == 1
    assert document["complaints"][0]["text"] == person.complaint_text
    assert document["signup_requests"][0]["evidence"]["ip"] == person.ip
    assert [(s["scope"], s["reason"]) for s in document["suppressions"]] == [("list", "unsubscribed")]
    assert document["controller"]["postal_address"] == person.account.postal_address


def test_export_holds_nothing_of_anyone_else(people):
    person, bystander = people
    text = json.dumps(operations.export_contact(person.contact), ensure_ascii=False).lower()
    for needle in bystander.needles():
        assert needle.lower() not in text


def test_erasure_leaves_nothing_personal_in_any_table(people, runner):
    person, bystander = people
    consent_operations.seal(grace=timedelta(0))
    db.session.commit()
    # Before: the scan finds every needle, in many tables.
    before = scan(person.needles())
    assert {hit[2] for hit in before} == set(person.needles())
    assert {hit[0] for hit in before} >= {"contacts", "consent_events", "complaints", "suppressions",
                                          "suppression_changes", "signup_requests", "outbox_messages",
                                          "feedback_reports"}

    assert operations.erase_contact(person.contact) is True
    db.session.commit()
    db.session.expire_all()

    assert scan(person.needles()) == []
    # The bystander's data is all still there.
    assert {hit[2] for hit in scan(bystander.needles())} == set(bystander.needles())
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    # Any spelling of the address still finds the suppression, which now holds only its hash.
    entries = entries_for("Dewi.Lestari@example.org", person.account.id)
    assert any(e.reason == "erased" and e.scope == "account" for e in entries)
    assert all(e.email is None for e in entries)


def test_erasure_records_an_erased_event_without_personal_data(people):
    person, _ = people
    operations.erase_contact(person.contact)
    db.session.commit()
    last = db.session.scalars(select(ConsentEvent).where(ConsentEvent.contact_id == person.contact.id)
                              .order_by(ConsentEvent.seq.desc())).first()
    assert last.type == "erased"
    assert last.email is None and last.ip is None and last.pii_commitments == {}
    assert consent_operations.verify().ok


def test_erasure_closes_subscriptions_and_stops_pending_mail(people):
    person, _ = people
    operations.erase_contact(person.contact)
    db.session.commit()
    statuses = sorted(db.session.scalars(select(Subscription.status).where(
        Subscription.contact_id == person.contact.id)))
    assert statuses == ["declined", "unsubscribed"]
    pending = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
    assert all("[erased]" != m.recipient for m in pending)
    assert all(person.email.lower() not in json.dumps(m.payload).lower() for m in pending)


def test_erasure_is_idempotent(people):
    person, _ = people
    assert operations.erase_contact(person.contact) is True
    db.session.commit()
    assert operations.erase_contact(person.contact) is False
    erased = db.session.scalars(select(ConsentEvent).where(
        ConsentEvent.contact_id == person.contact.id, ConsentEvent.type == "erased")).all()
    assert len(erased) == 1


def test_erasure_request_mails_a_link_and_changes_nothing_else(people):
    person, _ = people
    before = db.session.query(ConsentEvent).count()
    message = operations.queue_erasure_link(person.contact, locale="en")
    db.session.commit()
    assert message.recipient == person.email and message.kind == "erase_confirm"
    assert "/erase/" in message.payload["text"] and "/erase/" in message.payload["html"]
    assert person.account.postal_address in message.payload["text"]
    assert person.email.lower() not in message.payload["html"].split("/erase/")[1].lower()
    assert db.session.query(ConsentEvent).count() == before
    assert person.contact.email == person.email


def test_erasure_mails_are_limited_per_day(people):
    person, _ = people
    already = db.session.query(OutboxMessage).filter_by(kind="erase_confirm", recipient=person.email).count()
    sent = [operations.queue_erasure_link(person.contact, locale="en") for _ in range(5)]
    assert already == 1
    assert sum(message is not None for message in sent) == operations.MAX_ERASE_MAILS_PER_DAY - already
