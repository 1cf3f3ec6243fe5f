"""``record_many``: a batch of events that joins each contact's chain as ``record`` would."""
from portal.consent import operations as ledger
from portal.consent.models import GENESIS, ConsentEvent
from portal.consent.operations import NewEvent


def new(contact, type="imported"):
    return NewEvent(type, contact.id, contact.account_id, contact.email, "import:x", evidence={"import_id": "x"})


def test_batch_chains_new_and_existing_contacts(app, db, create_account, create_contact):
    account = create_account()
    fresh, old = create_contact(account), create_contact(account)
    first = ledger.record("signup_requested", contact=old, source="form:F", ip="203.0.113.9")
    assert ledger.record_many([new(fresh), new(old), new(fresh, "confirmed")]) == 3
    db.session.commit()
    chain = lambda c: list(db.session.query(ConsentEvent).filter_by(contact_id=c.id).order_by(ConsentEvent.seq))
    a, b = chain(fresh)
    assert (a.seq, a.prev_hash, b.seq, b.prev_hash) == (1, GENESIS, 2, a.hash)
    assert a.hash == ledger.event_hash(a) and a.email == fresh.email and a.pii_commitments["email"]
    x, y = chain(old)
    assert (y.seq, y.prev_hash) == (2, first.hash)
    # record() continues a chain that record_many extended.
    assert ledger.record("confirmed", contact=fresh, source="link").seq == 3
    db.session.commit()
    assert ledger.verify().ok and ledger.record_many([]) == 0


def test_redacting_a_batched_event_leaves_the_ledger_verifiable(app, db, create_contact):
    contact = create_contact()
    ledger.record_many([new(contact)])
    db.session.commit()
    ledger.redact(contact.id)
    db.session.commit()
    assert ledger.verify().ok
