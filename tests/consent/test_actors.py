"""Every ledger event says who acted: the person, the customer (which key), the platform, an operator."""
import json
from types import SimpleNamespace
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from portal.consent import keys
from portal.consent import operations as ledger
from portal.consent.models import ConsentEvent, EventType
from portal.db import utcnow
from portal.extensions import db
from portal.subscriptions.operations import find_contact
from tests.consent.test_ledger import hand_edit
from tests.factories import create_api_key
from tests.subscriptions.helpers import confirm_path, outbox


def _ledger(client, auth, account_id, email):
    response = client.get(f"/api/v1/accounts/{account_id}/ledger", query_string={"email": email}, headers=auth)
    assert response.status_code == 200
    return response.json["events"]


def test_a_reader_of_the_ledger_tells_person_customer_platform_and_operator_apart(client, runner, create_form):
    form = create_form()
    account = form.account
    customer_key, customer_secret = create_api_key("account", account)
    platform_key, platform_secret = create_api_key("platform")
    customer = {"Authorization": f"Bearer {customer_secret}"}
    platform = {"Authorization": f"Bearer {platform_secret}"}
    client.post(f"/f/{form.id}", data={"email": "ann@example.org"})
    client.post(confirm_path(outbox()[0]))
    base = f"/api/v1/accounts/{account.id}"
    client.put(f"{base}/suppressions/ann@example.org", json={"reason": "manual"}, headers=customer)
    client.delete(f"{base}/suppressions/ann@example.org?reason=typo", headers=platform)
    client.post(f"{base}/deliveries", headers=platform, json={"events": [
        {"email": "ann@example.org", "type": "hard_bounce", "message_id": "<m1@platform>",
         "at": utcnow().isoformat()}]}).json
    # An operator's command: the retention job (run from cron or by hand) purges a stale signup.
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
    assert purged and purged[0]["actor"] == {"type": "operator", "key_id": None}

    export = client.get(f"{base}/ledger/export", headers=customer)
    lines = [json.loads(line) for line in export.get_data(as_text=True).splitlines()]
    assert {(line["type"], line["actor"]["type"]) for line in lines} >= {
        ("confirmed", "person"), ("suppressed", "customer"), ("bounced", "platform"), ("purged", "operator")}


def test_the_guard_and_the_hash_cover_the_actor(client, create_form, backend):
    form = create_form()
    client.post(f"/f/{form.id}", data={"email": "ann@example.org"})
    assert ledger.verify().ok
    contact = find_contact(form.account_id, "ann@example.org")
    for column in ("actor", "actor_key_id"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(update(ConsentEvent).where(ConsentEvent.contact_id == contact.id)
                               .values({column: "customer"}))
        db.session.rollback()
    hand_edit(db, backend, "UPDATE consent_events SET actor = 'customer' WHERE contact_id = :id AND seq = 1",
              id=contact.id)
    report = ledger.verify()
    assert not report.ok and "content does not match its hash" in str(report.problems[0])


def test_an_event_from_before_actors_were_kept_still_verifies(create_contact, backend):
    contact = create_contact()
    event = ledger.record("confirmed", contact=contact, source="test")
    db.session.commit()
    columns = {column.name: getattr(event, column.name) for column in ConsentEvent.__table__.columns}
    old_hash = ledger.event_hash(SimpleNamespace(**{**columns, "actor": None, "actor_key_id": None}))
    # As the code before actors wrote it, under the ledger key (its mac keys the old hash).
    hand_edit(db, backend, "UPDATE consent_events SET actor = NULL, actor_key_id = NULL, hash = :hash, "
              "mac = :mac WHERE id = :id", hash=old_hash, mac=keys.event_mac(old_hash), id=event.id)
    db.session.expire_all()
    assert ledger.verify().ok and ledger.serialize(db.session.get(ConsentEvent, event.id))["actor"] is None
