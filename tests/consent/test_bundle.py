"""Proof bundles: the API, the data download, and the offline verifier on real and altered bundles."""
import copy
import json
import os
import shutil
import subprocess
import sys

import pytest

from portal.consent.evidence import RequestEvidence
from portal.consent.verify import main as verify_main, sha256_hex
from portal.extensions import db
from portal.signup import operations as signup

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ADDRESS = "Siti.Rahma@example.org"


@pytest.fixture
def confirmed(app, runner, create_form):
    """A double opt-in through the real operations, sealed: (form, contact id)."""
    form = create_form(consent_text="Ya, kirimi saya kabar mingguan.")
    request = signup.request_signup(form, email=ADDRESS, evidence=RequestEvidence(
        ip="203.0.113.9", user_agent="Mozilla/5.0 Test", page_url="https://shop.example/join"))
    db.session.commit()
    signup.confirm(request.id, evidence=RequestEvidence(ip="203.0.113.10", user_agent="Mozilla/5.0 Test"))
    db.session.commit()
    assert runner.invoke(args=["ledger", "seal"]).exit_code == 0
    db.session.rollback()
    return form, request.contact_id


def fetch(client, account_auth, form, email=ADDRESS):
    return client.get(f"/api/v1/accounts/{form.account_id}/ledger/proof", query_string={"email": email},
                      headers=account_auth(form.account))


@pytest.fixture
def files(tmp_path, client):
    """write(bundle) -> (bundle path, keys path); the keys as the well-known URL serves them."""
    keys = tmp_path / "keys.json"
    keys.write_text(client.get("/.well-known/consent-ledger-keys").get_data(as_text=True))

    def write(bundle, name="bundle.json"):
        path = tmp_path / name
        path.write_text(json.dumps(bundle))
        return str(path), str(keys)

    return write


def run_verifier(bundle_path, keys_path):
    """``python -m portal.consent.verify`` in a fresh interpreter: (exit code, output)."""
    done = subprocess.run([sys.executable, "-m", "portal.consent.verify", bundle_path, "--keys", keys_path],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


def test_a_real_bundle_verifies_offline(client, account_auth, confirmed, files):
    form, contact_id = confirmed
    response = fetch(client, account_auth, form)
    assert response.status_code == 200
    bundle = response.get_json()
    assert [e["payload"]["type"] for e in bundle["events"]] == ["signup_requested", "confirmation_sent", "confirmed"]
    assert bundle["consent_texts"][0]["text"] == "Ya, kirimi saya kabar mingguan."
    assert all(e["checkpoint_seq"] == 1 for e in bundle["events"])
    code, output = run_verifier(*files(bundle))
    assert code == 0, output
    assert "valid: 3 events of siti.rahma@example.org" in output.lower()


def test_the_verifier_needs_neither_the_portal_nor_flask(tmp_path, client, account_auth, confirmed, files):
    """Copied alone, the verifier runs; it imports no Flask and no database driver."""
    form, _ = confirmed
    bundle_path, keys_path = files(fetch(client, account_auth, form).get_json())
    alone = tmp_path / "alone" / "verify.py"
    alone.parent.mkdir()
    shutil.copyfile(os.path.join(ROOT, "portal", "consent", "verify.py"), alone)
    script = ("import runpy, sys\n"
              f"sys.argv = ['verify.py', {bundle_path!r}, '--keys', {keys_path!r}]\n"
              "try:\n"
              f"    runpy.run_path({str(alone)!r}, run_name='__main__')\n"
              "except SystemExit as done:\n"
              "    code = done.code\n"
              "banned = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'portal', 'psycopg')]\n"
              "print('imported:', banned)\n"
              "sys.exit(code)\n")
    done = subprocess.run([sys.executable, "-I", "-c", script], cwd=str(alone.parent),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid: 3 events" in done.stdout and "imported: []" in done.stdout


def _alter(bundle, how):
    altered = copy.deepcopy(bundle)
    events = altered["events"]
    if how == "byte_in_email":
        events[0]["personal"]["email"] = events[0]["personal"]["email"].replace("a", "b", 1)
    elif how == "byte_in_payload":
        events[2]["payload"]["type"] = "confirmes"
    elif how == "reordered":
        events[1], events[2] = events[2], events[1]
    elif how == "missing_checkpoint":
        altered["checkpoints"] = []
    elif how == "consent_text":
        altered["consent_texts"][0]["text"] += "!"
    elif how == "signature":
        signature = altered["checkpoints"][0]["signature"]
        altered["checkpoints"][0]["signature"] = ("B" if signature[0] != "B" else "C") + signature[1:]
    elif how == "path":
        events[1]["path"][0] = "0" * 64
    elif how == "email":
        altered["email"] = "someone.else@example.org"
    elif how == "account_id":
        altered["account_id"] = "acc_other"
    elif how == "contact_id":
        altered["contact_id"] = 999
    elif how == "text_version":
        altered["consent_texts"][0]["version"] = 7
    elif how == "dropped_tail":
        del events[-1]
    elif how == "event_id":
        events[1]["id"] = events[2]["id"]
    elif how == "generated_at":
        altered["generated_at"] = "2001-01-01T00:00:00Z"
    elif how == "last_flag":
        events[1]["last_in_checkpoint"] = True
    elif how == "ip_without_prefix":
        events[0]["personal"]["ip"] = events[0]["personal"]["ip_prefix"] = None
    elif how == "stray_text":
        altered["consent_texts"].append({"id": 99, "version": 1, "text": "x", "sha256": sha256_hex(b"x")})
    return altered


@pytest.mark.parametrize("how, message", [
    ("byte_in_email", "event 1: personal field 'email' was changed"),
    ("byte_in_payload", "content does not match its hash"),
    ("reordered", "out of order: expected seq 2, found 3"),
    ("missing_checkpoint", "its checkpoint 1 is missing from the bundle"),
    ("consent_text", "consent text 1: its text does not match its SHA-256"),
    ("signature", "checkpoint 1: its signature is not valid"),
    ("path", "not included in checkpoint 1"),
    ("email", "the bundle's address 'someone.else@example.org' is not the address its events record"),
    ("account_id", "it belongs to account_id "),
    ("contact_id", "it belongs to contact_id "),
    ("text_version", "it records consent text version 1, but the bundle's consent text 1 says version 7"),
    ("dropped_tail", "checkpoint 1 sealed a later event of this contact that the bundle leaves out"),
    ("event_id", "its id is not after the id"),
    ("generated_at", "its generated_at 2001-01-01T00:00:00Z is older than the events and checkpoints it holds"),
    ("last_flag", "not included in checkpoint 1"),
    ("ip_without_prefix", "personal field 'ip' is missing but was never redacted"),
    ("stray_text", "consent text 99: no event of the bundle records it"),
])
def test_an_altered_bundle_is_named_and_refused(client, account_auth, confirmed, files, how, message):
    form, _ = confirmed
    bundle = fetch(client, account_auth, form).get_json()
    code, output = run_verifier(*files(_alter(bundle, how)))
    assert code == 1
    assert message in output, output


def test_a_bundle_changed_by_one_byte_on_disk_is_refused(client, account_auth, confirmed, files, tmp_path):
    form, _ = confirmed
    bundle_path, keys_path = files(fetch(client, account_auth, form).get_json())
    with open(bundle_path, "rb") as source:
        raw = bytearray(source.read())
    at = raw.index(b"203.0.113.9")
    raw[at + len("203.0.113.")] = ord("8")
    with open(bundle_path, "wb") as target:
        target.write(raw)
    code, output = run_verifier(bundle_path, keys_path)
    assert code == 1
    first = json.loads(raw)["events"][0]["id"]
    assert output.strip() == f"INVALID: event {first}: personal field 'ip' was changed"


def test_a_checkpoint_signed_by_an_unknown_key_is_refused(client, account_auth, confirmed, files, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from portal.consent.verify import b64, key_id

    form, _ = confirmed
    bundle_path, _keys = files(fetch(client, account_auth, form).get_json())
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    other = tmp_path / "other-keys.json"
    other.write_text(json.dumps({"keys": [{"key_id": key_id(raw), "algorithm": "Ed25519",
                                           "public_key": b64(raw), "status": "current"}]}))
    code, output = run_verifier(bundle_path, str(other))
    assert code == 1 and "checkpoint 1: signed by an unknown key" in output


def test_an_unsealed_event_is_not_proven(client, account_auth, confirmed, files):
    from portal.consent import operations as consent_operations
    from portal.subscriptions.models import Contact

    form, contact_id = confirmed
    consent_operations.record("unsubscribed", contact=db.session.get(Contact, contact_id), source="link")
    db.session.commit()
    code, output = run_verifier(*files(fetch(client, account_auth, form).get_json()))
    assert code == 1 and "event 4: not sealed by any checkpoint" in output


def test_an_erased_contacts_bundle_verifies_with_its_personal_fields_redacted(
        app, runner, client, account_auth, confirmed, files):
    from portal.privacy.operations import erase_contact
    from portal.subscriptions.models import Contact

    form, contact_id = confirmed
    erase_contact(db.session.get(Contact, contact_id))
    db.session.commit()
    assert runner.invoke(args=["ledger", "seal"]).exit_code == 0
    db.session.rollback()
    bundle = fetch(client, account_auth, form).get_json()
    assert bundle["email"] is None
    assert all(value is None for e in bundle["events"][:3] for value in e["personal"].values())
    assert bundle["events"][-1]["payload"]["type"] == "erased"
    code, output = run_verifier(*files(bundle))
    assert code == 0, output
    assert "valid: 4 events of an erased contact" in output


def test_the_proof_of_an_unknown_address_is_404(client, account_auth, confirmed):
    form, _ = confirmed
    response = fetch(client, account_auth, form, email="nobody@example.org")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_the_subscribers_data_download_carries_the_proof(client, confirmed, files):
    """Downloaded from the person's own page (the preference centre's link), the proof verifies."""
    import re

    from portal import links

    _form, contact_id = confirmed
    page = links.preferences_url(links.Target(contact_id)).split("https://portal.test", 1)[1] + "/data"
    fields = dict(re.findall(r'name="([^"]+)" type="hidden" value="([^"]*)"', client.get(page).get_data(as_text=True)))
    response = client.post(page, data=fields)
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = json.loads(response.data)
    code, output = run_verifier(*files(document["ledger_proof"]))
    assert code == 0, output
    assert "valid: 3 events of siti.rahma@example.org" in output.lower()


def test_a_bundle_cut_before_a_later_checkpoint_says_how_far_it_is_complete(client, account_auth, runner, confirmed,
                                                                            files):
    """Events sealed by a later checkpoint can be left out: the verifier says up to where it is complete."""
    from portal.consent import operations as consent_operations
    from portal.subscriptions.models import Contact

    form, contact_id = confirmed
    consent_operations.record("unsubscribed", contact=db.session.get(Contact, contact_id), source="link")
    db.session.commit()
    assert runner.invoke(args=["ledger", "seal"]).exit_code == 0
    db.session.rollback()
    bundle = fetch(client, account_auth, form).get_json()
    assert [e["last_in_checkpoint"] for e in bundle["events"]] == [False, False, True, True]
    code, output = run_verifier(*files(bundle))
    assert code == 0 and "complete up to checkpoint 2" in output, output
    cut = copy.deepcopy(bundle)
    del cut["events"][-1]
    cut["checkpoints"] = cut["checkpoints"][:1]
    code, output = run_verifier(*files(cut))
    assert code == 0 and "complete up to checkpoint 1: no event that it or an earlier checkpoint sealed is left out; " \
        "events sealed later are not in this bundle" in output, output


def test_a_contacts_bundle_in_a_checkpoint_of_many_chunks_reads_one_chunk(client, account_auth, runner, confirmed,
                                                                          files, create_contact):
    """Two thousand events of others around this contact's: paths come from one chunk and the chunk roots."""
    from portal.consent import operations as consent_operations
    from portal.consent.verify import CHUNK
    from portal.subscriptions.models import Contact

    form, contact_id = confirmed
    other = create_contact(form.account)
    consent_operations.record_many([consent_operations.NewEvent("imported", other.id, other.account_id, other.email, "import:x")
                        for _ in range(CHUNK + 500)])
    consent_operations.record("unsubscribed", contact=db.session.get(Contact, contact_id), source="link")
    consent_operations.record_many([consent_operations.NewEvent("imported", other.id, other.account_id, other.email, "import:x")
                        for _ in range(700)])
    db.session.commit()
    assert runner.invoke(args=["ledger", "seal"]).exit_code == 0
    db.session.rollback()
    bundle = fetch(client, account_auth, form).get_json()
    last = bundle["events"][-1]
    assert last["checkpoint_seq"] == 2 and last["leaf_index"] == CHUNK + 500 and last["last_in_checkpoint"] is True
    assert bundle["checkpoints"][-1]["event_count"] == CHUNK + 1201
    code, output = run_verifier(*files(bundle))
    assert code == 0, output


def _paths(pair):
    bundle_path, keys_path = pair
    return bundle_path, "--keys", keys_path
