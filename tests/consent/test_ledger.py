"""The consent ledger: chains, verification, tampering, redaction, the append-only guard."""
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from portal.consent import keys
from portal.consent import operations
from portal.consent.models import ConsentEvent


def record_some(contact, n=3, **kwargs):
    events = [operations.record("signup_requested", contact=contact, source="form:F", ip="203.0.113.7",
                            user_agent="UA/1", page_url="https://shop.example/signup", **kwargs)
              for _ in range(n)]
    from portal.extensions import db

    db.session.commit()
    return events


def hand_edit(db, backend, sql, **params):
    """Change a row as an intruder with database access would: around the guard trigger."""
    with db.engine.begin() as conn:
        if backend == "postgresql":
            conn.execute(text("ALTER TABLE consent_events DISABLE TRIGGER consent_events_append_only"))
            conn.execute(text(sql), params)
            conn.execute(text("ALTER TABLE consent_events ENABLE TRIGGER consent_events_append_only"))
        else:
            conn.execute(text("DROP TRIGGER consent_events_no_update"))
            conn.execute(text("DROP TRIGGER consent_events_no_delete"))
            conn.execute(text(sql), params)


def test_events_chain_per_contact_with_microsecond_utc_times(app, create_contact, db):
    first, second = create_contact(), create_contact()
    a = record_some(first, 2)
    b = record_some(second, 1)
    assert [e.seq for e in a] == [1, 2] and b[0].seq == 1
    assert a[1].prev_hash == a[0].hash
    stored = db.session.get(ConsentEvent, a[0].id)
    assert stored.occurred_at.tzinfo is not None
    assert stored.occurred_at == a[0].occurred_at  # microseconds survive the round trip
    assert stored.ip_prefix == "203.0.113.0/24"
    assert operations.verify().ok


def test_verify_cli_passes_on_an_intact_ledger(runner, create_contact):
    record_some(create_contact())
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0
    assert "ledger intact" in result.output


@pytest.mark.parametrize("sql", [
    "UPDATE consent_events SET type = 'confirmed' WHERE id = :id",
    "UPDATE consent_events SET occurred_at = occurred_at - INTERVAL '1 day' WHERE id = :id",
    "UPDATE consent_events SET ip = '198.51.100.1' WHERE id = :id",
    "UPDATE consent_events SET list_id = NULL, source = 'import:x' WHERE id = :id",
])
def test_verify_names_a_hand_edited_event(runner, create_contact, db, backend, sql):
    events = record_some(create_contact(), 3)
    target = events[1].id
    if backend == "sqlite":
        sql = sql.replace("occurred_at - INTERVAL '1 day'", "'2020-01-01 00:00:00.000000'")
    hand_edit(db, backend, sql, id=target)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"first bad event {target}:" in result.output


def test_rewriting_the_hash_too_breaks_the_chain(runner, create_contact, db, backend):
    events = record_some(create_contact(), 3)
    hand_edit(db, backend, "UPDATE consent_events SET hash = :h WHERE id = :id", h="f" * 64, id=events[0].id)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1 and f"event {events[0].id}" in result.output


def test_a_deleted_sealed_event_is_caught_by_its_checkpoint(app, runner, create_contact, db, backend):
    events = record_some(create_contact(), 3)
    assert runner.invoke(args=["ledger", "seal"]).exit_code == 0
    # Deleting the newest event leaves the chain itself consistent; only the seal sees it.
    hand_edit(db, backend, "DELETE FROM consent_events WHERE id = :id", id=events[-1].id)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert "checkpoint 1" in result.output


def test_seal_only_covers_new_events(app, create_contact, db):
    contact = create_contact()
    record_some(contact, 2)
    first = operations.seal(app.config["PORTAL_LEDGER_SEAL_GRACE"])
    db.session.commit()
    assert operations.seal(app.config["PORTAL_LEDGER_SEAL_GRACE"]) is None
    record_some(contact, 1)
    second = operations.seal(app.config["PORTAL_LEDGER_SEAL_GRACE"])
    db.session.commit()
    assert (first.event_count, second.event_count) == (2, 1)
    assert second.prev_digest == first.digest
    report = operations.verify()
    assert report.ok and report.checkpoints == 2


@pytest.mark.parametrize("statement", [
    "UPDATE consent_events SET type = 'x'",
    "UPDATE consent_events SET ip = '1.2.3.4'",
    "DELETE FROM consent_events",
])
def test_the_database_refuses_changes_other_than_redaction(app, create_contact, db, statement):
    record_some(create_contact(), 1)
    with pytest.raises(DatabaseError):
        with db.engine.begin() as conn:
            conn.execute(text(statement))
    assert db.session.query(ConsentEvent).count() == 1


def test_redaction_erases_personal_fields_and_keeps_verification(app, runner, create_contact, db):
    contact = create_contact()
    other = create_contact()
    record_some(contact, 2)
    record_some(other, 1)
    operations.seal(app.config["PORTAL_LEDGER_SEAL_GRACE"])
    assert operations.redact(contact.id) == 2
    db.session.commit()
    db.session.expire_all()
    for event in operations.events_for_contact(contact.id):
        assert all(getattr(event, name) is None for name in ("email", "ip", "ip_prefix", "user_agent", "page_url"))
        assert event.pii_salt is None and event.redacted_at is not None
    assert operations.events_for_contact(other.id)[0].email == other.email
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


def test_dropping_full_ips_keeps_the_prefix_and_verification(app, create_contact, db):
    from datetime import timedelta

    from portal.db import utcnow

    record_some(create_contact(), 2)
    assert operations.drop_full_ips(utcnow() + timedelta(seconds=1)) == 2
    db.session.commit()
    db.session.expire_all()
    events = db.session.query(ConsentEvent).all()
    assert all(e.ip is None and e.ip_prefix == "203.0.113.0/24" for e in events)
    assert operations.verify().ok


def test_personal_data_is_not_in_the_hashed_content(app, create_contact):
    contact = create_contact(email="Siti.Rahma@example.org")
    event = record_some(contact, 1)[0]
    assert "Siti" not in str(event.pii_commitments) and "203.0.113" not in str(event.evidence)


def test_concurrent_appends_to_one_chain_all_land(app, create_contact, db):
    contact = create_contact()
    contact_id = contact.id
    errors = []

    def append(n):
        with app.app_context():
            from portal.extensions import db as local_db
            from portal.subscriptions.models import Contact

            try:
                for _ in range(n):
                    operations.record("confirmed", contact=local_db.session.get(Contact, contact_id), source="test")
                    local_db.session.commit()
            except Exception as error:  # collected and asserted below
                errors.append(error)
            finally:
                local_db.session.remove()

    threads = [threading.Thread(target=append, args=(10,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    events = operations.events_for_contact(contact_id)
    assert [e.seq for e in events] == list(range(1, 41))
    assert operations.verify().ok


def test_ledger_api_gives_a_contacts_history_oldest_first(client, create_contact, account_auth, db):
    from portal.accounts.models import Account

    contact = create_contact(email="ann@example.org")
    record_some(contact, 2)
    account = db.session.get(Account, contact.account_id)
    response = client.get(f"/api/v1/accounts/{account.id}/ledger?email=ANN@Example.org", headers=account_auth(account))
    assert response.status_code == 200
    body = response.json
    assert body["email"] == "ANN@Example.org"
    assert [e["type"] for e in body["events"]] == ["signup_requested", "signup_requested"]
    assert body["events"][0]["ip"] == "203.0.113.7"
    assert body["events"][0]["evidence"]["page_url"] == "https://shop.example/signup"
    assert body["events"][0]["occurred_at"].endswith("Z")


def test_seal_leaves_events_of_a_transaction_still_open(app, create_contact, db, backend):
    """A long transaction (an import) that commits after a seal must not land in a sealed range."""
    from datetime import timedelta

    from sqlalchemy.orm import Session

    from portal.db import utcnow
    from portal.subscriptions.models import Contact

    if backend == "sqlite":
        pytest.skip("SQLite has one writer: no second transaction can write while this one is open")
    early, late = create_contact(), create_contact()
    record_some(early, 1)
    late_id = late.id
    with Session(db.engine) as long_running:  # an import in another process, not yet committed
        ledger_session = long_running
        contact = ledger_session.get(Contact, late_id)
        from portal.consent.models import ConsentEvent as Event

        event = Event(account_id=contact.account_id, contact_id=contact.id, seq=1, prev_hash="0" * 64,
                      type="imported", occurred_at=utcnow() - timedelta(minutes=5), source="import:x",
                      evidence={}, pii_commitments={})
        event.hash = operations.event_hash(event)
        event.mac = keys.event_mac(event.hash)  # written by the portal, with the ledger key
        ledger_session.add(event)
        ledger_session.flush()
        record_some(early, 1)  # committed meanwhile, with a higher id
        operations.seal(timedelta(seconds=0))
        db.session.commit()
        ledger_session.commit()
    operations.seal(timedelta(seconds=0))
    db.session.commit()
    report = operations.verify()
    assert report.ok, [str(p) for p in report.problems]
