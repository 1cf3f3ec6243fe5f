"""``record_many``: a batch of events that joins each contact's chain as ``record`` would."""
from portal.consent import operations
from portal.consent.models import GENESIS, ConsentEvent
from portal.consent.operations import NewEvent


def new(contact, type="imported"):
    return NewEvent(type, contact.id, contact.account_id, contact.email, "import:x", evidence={"import_id": "x"})


def test_batch_chains_new_and_existing_contacts(app, db, create_account, create_contact):
    account = create_account()
    fresh, old = create_contact(account), create_contact(account)
    first = operations.record("signup_requested", contact=old, source="form:F", ip="203.0.113.9")
    assert operations.record_many([new(fresh), new(old), new(fresh, "confirmed")]) == 3
    db.session.commit()
    chain = lambda c: list(db.session.query(ConsentEvent).filter_by(contact_id=c.id).order_by(ConsentEvent.seq))
    a, b = chain(fresh)
    assert (a.seq, a.prev_hash, b.seq, b.prev_hash) == (1, GENESIS, 2, a.hash)
    assert a.hash == operations.event_hash(a) and a.email == fresh.email and a.pii_commitments["email"]
    x, y = chain(old)
    assert (y.seq, y.prev_hash) == (2, first.hash)
    # record() continues a chain that record_many extended.
    assert operations.record("confirmed", contact=fresh, source="link").seq == 3
    db.session.commit()
    assert operations.verify().ok and operations.record_many([]) == 0


def test_redacting_a_batched_event_leaves_the_ledger_verifiable(app, db, create_contact):
    contact = create_contact()
    operations.record_many([new(contact)])
    db.session.commit()
    operations.redact(contact.id)
    db.session.commit()
    assert operations.verify().ok


#: Values whose canonical bytes orjson and ``json`` could disagree on: every ASCII character (DEL is
#: escaped by ``json`` only), other scripts, a lone surrogate, floats, huge integers, odd keys and types.
ODD_VALUES = [chr(i) for i in range(128)] + [
    "café ☕", "\u2028", "\ud800", "a\\b\"c", 1.0, 1e16, float("nan"), 2**64, -2**63, True, None, [], {},
    ("tuple", 1), {"z": 1, "a": {"y": [1, {"b": None, "a": "x"}]}}, {"": 0}, {"é": 1}, {1: "int key"},
    {None: "null key"}]


def test_fast_payload_hash_is_the_verifiers_hash_of_every_kind_of_value():
    from portal.consent.verify import payload_hash

    for value in ODD_VALUES:
        payload = {"evidence": {"value": value, "list": [value]}, "seq": 1, "type": "imported"}
        assert operations.fast_payload_hash(payload) == payload_hash(payload), repr(value)


def test_fast_payload_hash_refuses_what_the_verifier_refuses():
    import datetime

    import pytest

    with pytest.raises(TypeError):  # orjson would encode it: the verifier could never check it
        operations.fast_payload_hash({"evidence": {"at": datetime.datetime(2026, 1, 1)}})


def test_a_batch_with_characters_of_every_kind_verifies(app, db, create_contact):
    contact = create_contact()
    # What both databases store and give back as it was: no NUL (JSONB), no lone surrogate, no float
    # (JSONB gives 1e16 back as an integer), no tuple (a list comes back).
    storable = [value for value in ODD_VALUES if type(value) in (str, int, bool, type(None), list)
                and value not in ("\x00", "\ud800")]
    events = [NewEvent("imported", contact.id, contact.account_id, contact.email, "import:x",
                       evidence={"source": value}) for value in storable]
    assert operations.record_many(events) == len(events)
    db.session.commit()
    stored = db.session.query(ConsentEvent).filter_by(contact_id=contact.id).order_by(ConsentEvent.seq).all()
    assert [e.evidence["source"] for e in stored] == [e.evidence["source"] for e in events]
    assert operations.verify().ok
