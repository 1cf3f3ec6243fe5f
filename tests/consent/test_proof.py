"""The ledger against a hostile database administrator: keyed hashes, signed checkpoints, anchors.

Each tampering of the issue is done with plain SQL (guards set aside as a superuser can), and
``ledger verify`` (with an anchor copy kept elsewhere) must name it.
"""
import json
import shutil

import pytest
from sqlalchemy import func, select, text

from portal.consent import anchors, keys
from portal.consent.operations import _events_between, checkpoint_document, drop_full_ips, record, record_many, redact, tree_entries
from portal.consent.models import ConsentEvent, LedgerCheckpoint
from portal.consent.verify import checkpoint_digest, merkle_root
from portal.extensions import db as _db
from tests.consent.hostile import as_dba, chain, insert_event, rewrite_chain_from


def record_some(contact, n=3, type="signup_requested"):
    events = [record(type, contact=contact, source="form:F", ip="203.0.113.7", user_agent="UA/1",
                     page_url="https://shop.example/signup") for _ in range(n)]
    _db.session.commit()
    return events


def seal(runner):
    result = runner.invoke(args=["ledger", "seal"])
    assert result.exit_code == 0, result.output
    _db.session.rollback()  # end the read of the anchor step, as the command's process would
    return result


def first_lines(path, n):
    with open(path, encoding="utf-8") as source:
        return source.read().splitlines()[:n]


def verify(runner, *args):
    return runner.invoke(args=["ledger", "verify", *args])


@pytest.fixture
def anchor_copy(tmp_path):
    """A copy of the anchor log as an auditor keeps it, elsewhere: call it after each seal."""
    target = tmp_path / "auditor-copy.jsonl"

    def take():
        shutil.copyfile(anchors.log_path(), target)
        return str(target)

    return take


# --- keyed hashes and signed checkpoints ---------------------------------------------------

def test_every_event_carries_a_keyed_hash_and_checkpoints_are_signed(app, runner, create_contact):
    events = record_some(create_contact(), 2)
    assert all(keys.mac_matches(e.hash, e.mac) for e in events)
    assert "signed by" in seal(runner).output
    checkpoint = _db.session.scalars(select(LedgerCheckpoint)).one()
    assert checkpoint.signed and checkpoint.seq == 1 and checkpoint.key_id == keys.ledger_keys().signing_id
    result = verify(runner)
    assert result.exit_code == 0 and "ledger intact" in result.output
    assert "1 anchored checkpoints" in result.output


def test_an_edited_event_with_its_chain_and_checkpoint_recomputed_is_caught(app, runner, create_contact,
                                                                            backend, anchor_copy):
    contact = create_contact()
    events = record_some(contact, 3)
    seal(runner)
    copy = anchor_copy()
    with as_dba(_db, backend) as conn:
        rewrite_chain_from(conn, contact.id, 2, type="confirmed")
        # ... and the checkpoint's Merkle root and digest, recomputed exactly as the code does:
        # all the intruder can do without the signing key.
        rows = chain(conn, contact.id)
        checkpoint = checkpoint_document(_db.session.scalars(select(LedgerCheckpoint)).one())
        checkpoint["events_root"] = merkle_root(tree_entries(rows, checkpoint["version"]))
        checkpoint["digest"] = checkpoint_digest(checkpoint)
        conn.execute(text("UPDATE ledger_checkpoints SET digest = :d, events_root = :r"),
                     {"d": checkpoint["digest"], "r": checkpoint["events_root"]})
    _db.session.expire_all()
    stored = checkpoint_document(_db.session.scalars(select(LedgerCheckpoint)).one())
    assert stored["digest"] == checkpoint_digest(stored)  # the digest matches the edited content
    result = verify(runner, "--anchors", copy)
    assert result.exit_code == 1
    assert f"first bad event {events[1].id}: its keyed hash does not match" in result.output
    assert "checkpoint 1: its signature is not valid" in result.output
    assert "differs from the anchor copy" in result.output


def test_a_forged_confirmation_appended_by_plain_insert_is_caught_and_never_sealed(
        app, runner, create_contact, backend):
    contact = create_contact()
    record_some(contact, 1)  # a pending contact: signup requested, never confirmed
    with _db.engine.begin() as conn:  # no guard bypass needed for an INSERT
        head = chain(conn, contact.id)[-1]
        insert_event(conn, backend, after=head, type="confirmed")
    forged = _db.session.scalar(select(ConsentEvent.id).where(ConsentEvent.type == "confirmed"))
    result = verify(runner)
    assert result.exit_code == 1
    assert f"first bad event {forged}: has no keyed hash and no signed checkpoint vouches for it" in result.output
    sealing = runner.invoke(args=["ledger", "seal"])
    assert sealing.exit_code == 1
    assert f"LEDGER TAMPERED, nothing sealed: event {forged}: has no keyed hash" in sealing.output
    assert _db.session.scalar(select(LedgerCheckpoint.id)) is None


def test_a_forged_event_with_a_made_up_keyed_hash_is_caught(app, runner, create_contact, backend):
    contact = create_contact()
    record_some(contact, 1)
    with _db.engine.begin() as conn:
        insert_event(conn, backend, after=chain(conn, contact.id)[-1], type="confirmed", mac="a" * 64)
    result = verify(runner)
    assert result.exit_code == 1 and "its keyed hash does not match" in result.output
    sealing = runner.invoke(args=["ledger", "seal"])
    assert sealing.exit_code == 1 and "written without the ledger key" in sealing.output


def test_a_checkpoint_re_signed_with_another_key_is_caught(app, runner, create_contact, backend):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from portal.consent.verify import b64, canonical, checkpoint_body, checkpoint_digest

    record_some(create_contact(), 2)
    seal(runner)
    checkpoint = checkpoint_document(_db.session.scalars(select(LedgerCheckpoint)).one())
    own = Ed25519PrivateKey.generate()
    checkpoint["key_id"] = keys.key_id_of(own.public_key())
    checkpoint["signature"] = b64(own.sign(canonical(checkpoint_body(checkpoint))))
    checkpoint["digest"] = checkpoint_digest(checkpoint)
    with as_dba(_db, backend) as conn:
        conn.execute(text("UPDATE ledger_checkpoints SET key_id = :k, signature = :s, digest = :d"),
                     {"k": checkpoint["key_id"], "s": checkpoint["signature"], "d": checkpoint["digest"]})
    result = verify(runner, "--anchors", anchors.log_path())
    assert result.exit_code == 1
    assert f"checkpoint 1: signed by an unknown key '{checkpoint['key_id']}'" in result.output


def test_the_public_keys_are_served_current_and_retired(app, client, tmp_path, runner, create_contact):
    record_some(create_contact(), 1)
    seal(runner)  # signed by the key about to be retired
    old_id = keys.ledger_keys().signing_id
    old_path = app.config["PORTAL_LEDGER_SIGNING_KEY_PATH"]
    # Rotation: a new signing key; the old one's public half is kept as retired.
    app.config["PORTAL_LEDGER_SIGNING_KEY_PATH"] = str(tmp_path / "new-signing.pem")
    app.config["PORTAL_LEDGER_RETIRED_KEY_PATHS"] = [old_path]
    app.extensions.pop("ledger_keys")
    response = client.get("/.well-known/consent-ledger-keys")
    assert response.status_code == 200
    listed = {entry["key_id"]: entry for entry in response.get_json()["keys"]}
    new_id = keys.ledger_keys().signing_id
    assert listed[old_id]["status"] == "retired" and listed[new_id]["status"] == "current"
    assert all(entry["algorithm"] == "Ed25519" and len(entry["public_key"]) == 43 for entry in listed.values())
    record_some(create_contact(), 1)
    assert f"signed by {new_id}" in seal(runner).output
    assert verify(runner).exit_code == 0  # the old checkpoint still verifies by its retired key


def test_a_missing_key_file_is_an_error_when_keys_may_not_be_created(app, tmp_path):
    app.config["PORTAL_LEDGER_CREATE_KEYS"] = False
    app.config["PORTAL_LEDGER_SIGNING_KEY_PATH"] = str(tmp_path / "absent.pem")
    app.extensions.pop("ledger_keys", None)
    with pytest.raises(keys.LedgerKeyMissing, match="PORTAL_LEDGER_SIGNING_KEY_PATH: .*absent.pem does not exist"):
        keys.ledger_keys()


def test_keygen_writes_keys_and_never_overwrites(runner, tmp_path):
    signing, secret = tmp_path / "s.pem", tmp_path / "h.key"
    result = runner.invoke(args=["ledger", "keygen", "--signing", str(signing), "--hmac", str(secret)])
    assert result.exit_code == 0 and "signing key " in result.output
    assert (signing.stat().st_mode & 0o777) == 0o600 and len(secret.read_text().strip()) == 64
    again = runner.invoke(args=["ledger", "keygen", "--hmac", str(secret)])
    assert again.exit_code == 2 and "a ledger key is never overwritten" in again.output


def test_events_before_keyed_hashes_are_adopted_once_by_the_first_signed_checkpoint(
        app, runner, create_contact, backend):
    contact = create_contact()
    events = record_some(contact, 2)
    with as_dba(_db, backend) as conn:  # as the migration leaves them: no mac
        conn.execute(text("UPDATE consent_events SET mac = NULL"))
    result = runner.invoke(args=["ledger", "seal"])
    assert result.exit_code == 1 and "seal once with --adopt-legacy" in result.output
    assert runner.invoke(args=["ledger", "seal", "--adopt-legacy"]).exit_code == 0
    assert verify(runner).exit_code == 0
    # From now on, an unkeyed event is refused even with the flag.
    with _db.engine.begin() as conn:
        insert_event(conn, backend, after=chain(conn, contact.id)[-1], type="confirmed")
    result = runner.invoke(args=["ledger", "seal", "--adopt-legacy"])
    assert result.exit_code == 1 and f"event {events[-1].id + 1}: has no keyed hash" in result.output


# --- anchors --------------------------------------------------------------------------------

def test_each_seal_appends_to_the_anchor_log_and_the_api_serves_it(app, client, runner, create_contact,
                                                                   platform_auth):
    contact = create_contact()
    for _ in range(3):
        record_some(contact, 1)
        seal(runner)
    lines = [json.loads(line) for line in first_lines(anchors.log_path(), 10)]
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert lines[1]["prev_digest"] == lines[0]["digest"]
    page = client.get("/api/v1/ledger/checkpoints?after=1&limit=1", headers=platform_auth)
    assert page.status_code == 200
    assert page.get_json() == {"items": [lines[1]], "next_after": 2}
    rest = client.get("/api/v1/ledger/checkpoints?after=2", headers=platform_auth).get_json()
    assert rest == {"items": [lines[2]], "next_after": None}


def test_auditors_copy_the_checkpoints_without_a_key(client, runner, create_contact):
    """They hold no personal data: anyone may keep a copy, from a script or a browser."""
    record_some(create_contact(), 1)
    seal(runner)
    response = client.get("/api/v1/ledger/checkpoints")
    assert response.status_code == 200
    assert response.get_json() == {"items": [json.loads(first_lines(anchors.log_path(), 1)[0])], "next_after": None}
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["paths"]["/api/v1/ledger/checkpoints"]["get"]["security"] == []


def test_the_checkpoints_api_refuses_a_bad_after(client, platform_auth):
    response = client.get("/api/v1/ledger/checkpoints?after=-1", headers=platform_auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_failed"
    # Past what the seq column holds: a clear refusal, not the database's 500 (schemathesis found it).
    beyond = client.get(f"/api/v1/ledger/checkpoints?after={2**31}", headers=platform_auth)
    assert beyond.status_code == 422 and beyond.get_json()["error"]["code"] == "validation_failed"


def test_a_deleted_newest_checkpoint_and_its_events_are_caught_by_the_anchor_copy(
        app, runner, create_contact, backend, anchor_copy):
    contact = create_contact()
    record_some(contact, 2)
    seal(runner)
    last = record_some(contact, 2)
    seal(runner)
    copy = anchor_copy()
    with as_dba(_db, backend) as conn:
        conn.execute(text("DELETE FROM ledger_checkpoints WHERE id = (SELECT max(id) FROM ledger_checkpoints)"))
        conn.execute(text("DELETE FROM consent_events WHERE id >= :id"), {"id": last[0].id})
    # The intruder may also cut the local log...
    with open(anchors.log_path(), "w") as log:
        log.write(first_lines(copy, 1)[0] + "\n")
    assert verify(runner).exit_code == 0  # ...and then the database alone looks intact
    result = verify(runner, "--anchors", copy)
    assert result.exit_code == 1
    assert "checkpoint 2: is in the anchor copy" in result.output
    assert "missing from the database (deleted or truncated tail)" in result.output


def test_truncating_the_ledger_is_caught_by_the_anchor_copy(app, runner, create_contact, backend, anchor_copy):
    record_some(create_contact(), 2)
    seal(runner)
    copy = anchor_copy()
    with as_dba(_db, backend) as conn:
        if backend == "postgresql":
            conn.execute(text("TRUNCATE consent_events, ledger_checkpoints"))
        else:  # SQLite has no TRUNCATE: an unqualified DELETE is its form of it
            conn.execute(text("DELETE FROM ledger_checkpoints"))
            conn.execute(text("DELETE FROM consent_events"))
    result = verify(runner, "--anchors", copy)
    assert "checked 0 events in 0 chains, 0 checkpoints, 1 anchored checkpoints" in result.output
    assert result.exit_code == 1
    assert "first bad checkpoint 1: is in the anchor copy" in result.output


def test_a_rewritten_tail_resealed_by_the_operator_is_caught_by_the_anchor_copy(
        app, runner, create_contact, backend, anchor_copy):
    contact = create_contact()
    record_some(contact, 1)
    seal(runner)
    events = record_some(contact, 1, type="unsubscribed")
    seal(runner)
    copy = anchor_copy()
    with as_dba(_db, backend) as conn:  # drop the unsubscribe and its seal...
        conn.execute(text("DELETE FROM ledger_checkpoints WHERE seq = 2"))
        conn.execute(text("DELETE FROM consent_events WHERE id = :id"), {"id": events[0].id})
    with open(anchors.log_path(), "w") as log:
        log.write(first_lines(copy, 1)[0] + "\n")
    _db.session.expunge(events[0])  # SQLite hands the deleted id out again
    record_some(contact, 1, type="confirmed")  # ...write another history and let cron seal it
    seal(runner)
    result = verify(runner, "--anchors", copy)
    assert result.exit_code == 1
    assert "checkpoint 2: differs from the anchor copy" in result.output and "(rewritten)" in result.output


def test_a_forged_line_in_an_anchor_copy_is_named(app, runner, create_contact, tmp_path):
    record_some(create_contact(), 1)
    seal(runner)
    line = json.loads(first_lines(anchors.log_path(), 1)[0])
    line["event_count"] = 99
    forged = tmp_path / "forged.jsonl"
    forged.write_text(json.dumps(line) + "\n")
    result = verify(runner, "--anchors", str(forged))
    assert result.exit_code == 1 and "holds a bad copy: its digest does not match its content" in result.output


# --- the database refuses what it can ---------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE ledger_checkpoints SET digest = 'x'",
    "DELETE FROM ledger_checkpoints",
])
def test_checkpoints_are_insert_only(app, runner, create_contact, statement):
    from sqlalchemy.exc import DatabaseError

    record_some(create_contact(), 1)
    seal(runner)
    with pytest.raises(DatabaseError, match="ledger_checkpoints is insert-only"):
        with _db.engine.begin() as conn:
            conn.execute(text(statement))
    assert _db.session.scalar(select(LedgerCheckpoint.digest)) != "x"


@pytest.mark.parametrize("table", ["consent_events", "ledger_checkpoints", "consent_events, ledger_checkpoints"])
def test_truncate_is_refused(app, runner, create_contact, backend, table):
    from sqlalchemy.exc import DatabaseError

    if backend == "sqlite":
        pytest.skip("SQLite has no TRUNCATE; its DELETE is refused by the row guards")
    record_some(create_contact(), 1)
    seal(runner)
    with pytest.raises(DatabaseError, match="is append-only: TRUNCATE refused"):
        with _db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {table}"))
    assert _db.session.query(ConsentEvent).count() == 1


def test_nulling_personal_fields_without_a_redaction_is_refused(app, create_contact):
    from sqlalchemy.exc import DatabaseError

    event = record_some(create_contact(), 1)[0]
    with pytest.raises(DatabaseError, match="consent_events personal fields are nulled only with redacted_at"):
        with _db.engine.begin() as conn:
            conn.execute(text("UPDATE consent_events SET ip = NULL, user_agent = NULL, page_url = NULL "
                              "WHERE id = :id"), {"id": event.id})
    _db.session.expire_all()
    assert _db.session.get(ConsentEvent, event.id).user_agent == "UA/1"


def test_nulling_with_a_redaction_and_dropping_the_full_ip_stay_allowed(app, runner, create_contact):
    from datetime import timedelta

    from portal.db import utcnow

    first, second = create_contact(), create_contact()
    record_some(first, 1)
    record_some(second, 1)
    assert drop_full_ips(utcnow() + timedelta(seconds=1)) == 2
    assert redact(second.id) == 1
    _db.session.commit()
    assert verify(runner).exit_code == 0


def test_personal_fields_nulled_behind_the_guard_are_named_by_verify(app, runner, create_contact, backend):
    event = record_some(create_contact(), 1)[0]
    with as_dba(_db, backend) as conn:
        conn.execute(text("UPDATE consent_events SET ip = NULL, user_agent = NULL, page_url = NULL "
                          "WHERE id = :id"), {"id": event.id})
    result = verify(runner)
    assert result.exit_code == 1
    assert f"first bad event {event.id}: personal field 'user_agent' was removed without a redaction" in result.output


def test_a_role_that_does_not_own_the_tables_cannot_set_the_guards_aside(app, backend, create_contact, runner):
    """The README's deployment: the app connects as a role with row privileges only."""
    import uuid

    import psycopg

    if backend == "sqlite":
        pytest.skip("SQLite has no roles")
    record_some(create_contact(), 1)
    seal(runner)
    role = f"portal_app_{uuid.uuid4().hex[:8]}"
    url = _db.engine.url
    with _db.engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"))
        conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    try:
        dsn = f"host={url.host} port={url.port or 5432} dbname={url.database} user={role}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            for statement, refusal in [
                ("ALTER TABLE consent_events DISABLE TRIGGER consent_events_append_only", "must be owner"),
                ("DROP TRIGGER ledger_checkpoints_insert_only ON ledger_checkpoints", "must be owner"),
                ("SET session_replication_role = replica", "permission denied"),
                ("TRUNCATE consent_events", "permission denied"),
                ("DELETE FROM ledger_checkpoints", "insert-only"),
            ]:
                with pytest.raises(psycopg.Error, match=refusal):
                    conn.execute(statement)
            assert conn.execute("SELECT count(*) FROM ledger_checkpoints").fetchone()[0] == 1
    finally:
        with _db.engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))


# --- checkpoints of bounded size, their chunk roots, the sealer's loop --------------------------

@pytest.mark.app_config(PORTAL_LEDGER_CHECKPOINT_MAX_EVENTS=3)
def test_a_seal_makes_as_many_checkpoints_as_its_bound_needs(app, runner, create_contact):
    record_some(create_contact(), 4)
    record_some(create_contact(), 3)
    result = seal(runner)
    assert result.output.count("signed by") == 3
    checkpoints = _db.session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.seq)).all()
    assert [c.event_count for c in checkpoints] == [3, 3, 1]
    assert [c.first_event_id for c in checkpoints] == [1, 4, 7] and checkpoints[1].prev_digest == checkpoints[0].digest
    assert all(c.version == 3 for c in checkpoints)
    assert verify(runner).exit_code == 0
    assert len(first_lines(anchors.log_path(), 10)) == 3


def _many_events(contact, n):
    from portal.consent.operations import NewEvent

    record_many([NewEvent("imported", contact.id, contact.account_id, contact.email, "import:bench")
                 for _ in range(n)])
    _db.session.commit()


def test_a_large_checkpoint_keeps_the_root_of_each_chunk_and_verify_checks_them(app, runner, create_contact,
                                                                               backend):
    from portal.consent.verify import CHUNK, chunk_roots

    big, small = create_contact(), create_contact()
    _many_events(big, CHUNK + 100)
    record_some(small, 1)
    _many_events(big, 200)
    seal(runner)
    checkpoint = _db.session.scalars(select(LedgerCheckpoint)).one()
    assert checkpoint.event_count == CHUNK + 301 and len(checkpoint.chunks) == 2
    rows = list(_events_between(0, checkpoint.last_event_id))
    roots = chunk_roots(tree_entries(rows, 3))
    assert checkpoint.chunks == [[rows[0].id, roots[0]], [rows[CHUNK].id, roots[1]]]
    assert verify(runner).exit_code == 0
    second = checkpoint.chunks[1]
    with as_dba(_db, backend) as conn:  # stored chunk roots are not signed: verify checks them
        conn.execute(text("UPDATE ledger_checkpoints SET chunks = :c"),
                     {"c": json.dumps([[rows[0].id, "0" * 64], second])})
    _db.session.rollback()  # forget the rows this session read before the edit
    result = verify(runner)
    assert result.exit_code == 1
    assert "checkpoint 1: its stored chunk roots differ from its events' (proof paths from it would not verify)" \
        in result.output


def test_the_sealer_loop_seals_each_round_until_stopped(app, runner, create_contact):
    from portal.consent.cli import seal_every

    from portal.subscriptions.models import Contact

    contact_id = create_contact().id
    record_some(_db.session.get(Contact, contact_id), 2)
    calls, written = [], []

    def stop():  # once the first round has sealed, write one event more; stop when it is sealed too
        calls.append(1)
        sealed = _db.session.scalar(select(func.count(LedgerCheckpoint.id)))
        if sealed == 1 and not written:
            written.append(record_some(_db.session.get(Contact, contact_id), 1))
        return sealed == 2 or len(calls) > 200

    with app.test_request_context():
        seal_every(0.1, stop=stop)
    checkpoints = _db.session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.seq)).all()
    assert [c.event_count for c in checkpoints] == [2, 1]
    assert verify(runner).exit_code == 0
