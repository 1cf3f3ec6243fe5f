"""Every ledger event says who acted: the person, the customer (which key), the platform, an operator."""
import json
from types import SimpleNamespace
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from portal.consent import keys
from portal.consent import operations
from portal.consent.models import ConsentEvent, EventType
from portal.db import utcnow
from portal.extensions import db
from portal.subscriptions.operations import find_contact
from tests.conftest import bearer, outbox
from tests.consent.test_ledger import hand_edit
from tests.factories import create_api_key
from tests.subscriptions.helpers import confirm_path


def _ledger(client, auth, account_id, email):
    response = client.get(f"/api/v1/accounts/{account_id}/ledger", query_string={"email": email}, headers=auth)
    assert response.status_code == 200
    return response.json["events"]


def test_a_reader_of_the_ledger_tells_person_customer_platform_and_operator_apart(client, runner, create_form):
    form = create_form()
    account = form.account
    customer_key, customer_secret = create_api_key("account", account)
    platform_key, platform_secret = create_api_key("platform")
    customer = bearer(customer_secret)
    platform = bearer(platform_secret)
    client.post(f"/f/{form.id}", data={"email": "ann@example.org"})
    client.post(confirm_path(outbox()[0]))
    base = f"/api/v1/accounts/{account.id}"
    client.put(f"{base}/suppressions/ann@example.org", json={"reason": "manual"}, headers=customer)
    client.delete(f"{base}/suppressions/ann@example.org?reason=typo", headers=platform)
    client.post(f"{base}/deliveries", headers=platform, json={"events": [
        {"email": "ann@example.org", "type": "hard_bounce", "message_id": "<m1@platform>",
         "at": utcnow().isoformat()}]}).json
    # The retention job (from cron) purges a stale signup: the system's work, not an operator's.
    client.post(f"/f/{form.id}", data={"email": "bob@example.org"})
    db.session.execute(update(ConsentEvent.__table__.metadata.tables["subscriptions"]).values(
        requested_at=utcnow() - timedelta(days=400)).where(
        ConsentEvent.__table__.metadata.tables["subscriptions"].c.status == "pending"))
    db.session.commit()
    assert runner.invoke(args=["privacy", "purge"]).exit_code == 0

    events = {e["type"]: e["actor"] for e in _ledger(client, customer, account.id, "ann@example.org")}
    assert events[EventType.SIGNUP_REQUESTED] == {"type": "person", "key_id": None}
    assert events[EventType.CONFIRMED] == {"type": "person", "key_id": None}
    assert events[EventType.SUPPRESSED] == {"type": "customer", "key_id": customer_key.id}
    assert events[EventType.UNSUPPRESSED] == {"type": "platform", "key_id": platform_key.id}
    assert events[EventType.BOUNCED] == {"type": "platform", "key_id": platform_key.id}
    purged = [e for e in _ledger(client, platform, account.id, "bob@example.org") if e["type"] == "purged"]
    assert purged and purged[0]["actor"] == {"type": "system", "key_id": None}

    export = client.get(f"{base}/ledger/export", headers=customer)
    lines = [json.loads(line) for line in export.get_data(as_text=True).splitlines()]
    assert {(line["type"], line["actor"]["type"]) for line in lines} >= {
        ("confirmed", "person"), ("suppressed", "customer"), ("bounced", "platform"), ("purged", "system")}


def test_the_guard_and_the_hash_cover_the_actor(client, create_form, backend):
    form = create_form()
    client.post(f"/f/{form.id}", data={"email": "ann@example.org"})
    assert operations.verify().ok
    contact = find_contact(form.account_id, "ann@example.org")
    for column in ("actor", "actor_key_id"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(update(ConsentEvent).where(ConsentEvent.contact_id == contact.id)
                               .values({column: "customer"}))
        db.session.rollback()
    hand_edit(db, backend, "UPDATE consent_events SET actor = 'customer' WHERE contact_id = :id AND seq = 1",
              id=contact.id)
    report = operations.verify()
    assert not report.ok and "content does not match its hash" in str(report.problems[0])


def test_an_event_from_before_actors_were_kept_still_verifies(create_contact, backend):
    contact = create_contact()
    event = operations.record("confirmed", contact=contact, source="test")
    db.session.commit()
    columns = {column.name: getattr(event, column.name) for column in ConsentEvent.__table__.columns}
    old_hash = operations.event_hash(SimpleNamespace(**{**columns, "actor": None, "actor_key_id": None}))
    # As the code before actors wrote it, under the ledger key (its mac keys the old hash).
    hand_edit(db, backend, "UPDATE consent_events SET actor = NULL, actor_key_id = NULL, hash = :hash, "
              "mac = :mac WHERE id = :id", hash=old_hash, mac=keys.event_mac(old_hash), id=event.id)
    db.session.expire_all()
    assert operations.verify().ok and operations.serialize(db.session.get(ConsentEvent, event.id))["actor"] is None


def _actors(contact_id: int, type_: str) -> list[tuple[str, str | None]]:
    db.session.expire_all()
    return [(e.actor, e.actor_key_id) for e in operations.events_for_contact(contact_id) if e.type == type_]


def test_mail_the_outbox_worker_sends_is_recorded_as_the_systems_work(client, create_list, account_auth):
    """An import's re-permission mail leaves with the worker: the import is the customer's, the
    mail leaving is the system's (no operator acted)."""
    import io

    from portal.imports.operations import worker as import_worker
    from portal.outbox import worker as outbox_worker

    mailing_list = create_list()
    key, secret = create_api_key("account", mailing_list.account)
    day = (utcnow() - timedelta(days=3)).date().isoformat()
    posted = client.post(f"/api/v1/accounts/{mailing_list.account_id}/lists/{mailing_list.id}/imports",
                         headers=bearer(secret),
                         data={"file": (io.BytesIO(f"email,consented_at\nann@example.org,{day}\n".encode()),
                                        "contacts.csv"), "consent_method": "single_opt_in",
                               "attestation": "Asked at the till."})
    assert posted.status_code == 202
    import_worker.run_once()
    assert outbox_worker.run_once().sent
    contact_id = find_contact(mailing_list.account_id, "ann@example.org").id
    assert _actors(contact_id, EventType.IMPORTED) == [("customer", key.id)]
    assert _actors(contact_id, EventType.CONFIRMATION_SENT) == [("system", None)]


def test_a_cli_command_is_an_operators_and_work_outside_any_command_the_systems(app, runner, create_contact):
    contact = create_contact()

    @app.cli.command("record-test-event")
    def record_test_event():
        """Record one ledger event, as any operator's command would."""
        operations.record("confirmed", contact=db.session.get(type(contact), contact.id), source="cli")
        db.session.commit()

    assert runner.invoke(args=["record-test-event"]).exit_code == 0
    operations.record("confirmed", contact=contact, source="job")  # no request, no command: a background job
    db.session.commit()
    assert _actors(contact.id, EventType.CONFIRMED) == [("operator", None), ("system", None)]


def test_a_feedback_loop_complaint_is_the_persons_relayed_by_the_platform(client, subscriber_on_list):
    from tests.complaints.support import rewrite

    contact, key, auth = subscriber_on_list
    report = rewrite("01", to=contact.email, rcpt_to=contact.email)
    answer = client.post("/api/v1/feedback/arf", data=report, headers={**auth, "Content-Type": "message/rfc822"})
    assert answer.status_code in (200, 202), answer.json
    assert _actors(contact.id, EventType.COMPLAINED) == [("person", key.id)]
    assert _actors(contact.id, EventType.SUPPRESSED) == [("person", key.id)]


def test_a_mailto_unsubscribe_is_the_persons_relayed_by_the_platform(app, client, subscriber_on_list):
    contact, key, auth = subscriber_on_list
    app.config["PORTAL_UNSUBSCRIBE_MAIL_DOMAIN"] = "unsub.portal.test"
    [subscription] = contact.subscriptions
    answer = client.post(f"/api/v1/accounts/{contact.account_id}/unsubscribe-links", headers=auth,
                         json={"list_id": subscription.list_id, "recipients": [{"email": contact.email}]}).json
    address = answer["recipients"][0]["headers"]["List-Unsubscribe"].split("<mailto:", 1)[1].rstrip(">")
    raw = f"From: {contact.email}\r\nTo: {address}\r\nSubject: unsubscribe\r\n\r\n".encode()
    answer = client.post("/api/v1/inbound/unsubscribe", headers=auth, data=raw, content_type="message/rfc822")
    assert answer.status_code == 202 and answer.json["matched"] is True
    assert _actors(contact.id, EventType.UNSUBSCRIBED) == [("person", key.id)]


@pytest.fixture
def subscriber_on_list(create_subscription):
    """A confirmed contact, the platform key and its Authorization header."""
    subscription = create_subscription()
    key, secret = create_api_key("platform")
    return subscription.contact, key, bearer(secret)
