"""Check a consent proof bundle offline: ``python -m portal.consent.verify bundle.json --keys keys.json``.

This file needs the standard library and ``cryptography`` only: no database, no Flask, no other
module of the portal. An auditor may copy it alone and run ``python verify.py bundle.json
--keys keys.json``. The portal uses the same functions to hash, seal and sign, so there is one
definition of each.

A bundle holds one contact's events (each with the exact payload that was hashed), the consent
texts and privacy notice versions they record, and the signed checkpoints that seal them, each
event with its Merkle inclusion path (RFC 9162, section 2.1) up to its checkpoint's
``events_root``. A version 3 checkpoint's leaves also commit to each event's id and to whether
it is the newest of its chain in that checkpoint, so a bundle is complete up to its newest
checkpoint (:func:`complete_up_to`). The keys file is what ``GET /.well-known/consent-ledger-keys``
answers.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from typing import Any, Iterable

#: ``prev_hash`` of the first event of every chain, and of the first checkpoint.
GENESIS = "0" * 64
#: Personal fields: redactable, each committed to by a salted hash in the payload.
PERSONAL_FIELDS = ("email", "ip", "ip_prefix", "user_agent", "page_url")
#: The fields of a checkpoint that its signature covers, and its digest is the hash of.
CHECKPOINT_FIELDS = ("version", "seq", "prev_digest", "first_event_id", "last_event_id",
                     "event_count", "events_root", "created_at", "key_id")
BUNDLE_FORMAT = "consent-ledger-proof/2"
#: Formats this verifier reads: 1 had no ``last_in_checkpoint`` and no privacy notices.
BUNDLE_FORMATS = ("consent-ledger-proof/1", BUNDLE_FORMAT)


def canonical(value: Any) -> bytes:
    """The bytes that are hashed and signed: sorted keys, no spaces, ASCII."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def payload_hash(payload: dict[str, Any]) -> str:
    """The hash of an event: SHA-256 of its canonical payload (whatever fields it holds)."""
    return sha256_hex(canonical(payload))


def commitment(salt: str, name: str, value: str) -> str:
    """Salted hash of one personal field's value."""
    return hashlib.sha256(f"{salt}\0{name}\0{value}".encode()).hexdigest()


# --- Merkle tree (RFC 9162, section 2.1) ------------------------------------------------------

#: Leaves per chunk: the portal keeps each chunk's root, so that a path needs one chunk's leaves.
CHUNK = 1024


def _leaf(hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(hash_hex)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _levels(nodes: list[bytes]) -> list[list[bytes]]:
    """Every level of the tree over ``nodes``, bottom up.

    Pairing bottom-up and lifting an odd last node unchanged builds the RFC 9162 tree; node j
    of level l is the root of leaves [j*2^l, (j+1)*2^l), so a chunk's tree is a subtree.
    """
    levels = [nodes or [hashlib.sha256(b"").digest()]]
    while len(levels[-1]) > 1:
        level = levels[-1]
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        levels.append(paired)
    return levels


def _level_path(index: int, levels: list[list[bytes]]) -> list[bytes]:
    """The audit path of node ``index`` of the lowest level, bottom up (a lifted node has no sibling)."""
    path = []
    for level in levels[:-1]:
        if index ^ 1 < len(level):
            path.append(level[index ^ 1])
        index >>= 1
    return path


def merkle_root(entries: Iterable[str]) -> str:
    """The Merkle root of the entries (event hashes, or :func:`leaf_entry` values) in id order."""
    return _levels([_leaf(h) for h in entries])[-1][0].hex()


def chunk_roots(entries: list[str]) -> list[str]:
    """The root of each :data:`CHUNK` entries in order: the tree's nodes at height log2(CHUNK)."""
    return [merkle_root(entries[i:i + CHUNK]) for i in range(0, len(entries), CHUNK)]


def root_of_chunks(roots: list[str]) -> str:
    """The Merkle root of the whole tree, from :func:`chunk_roots`."""
    return _levels([bytes.fromhex(r) for r in roots])[-1][0].hex()


def inclusion_paths(entries: list[str], indexes: Iterable[int]) -> dict[int, list[str]]:
    """Inclusion path of each leaf in ``indexes`` within the tree of ``entries`` (one pass)."""
    levels = _levels([_leaf(h) for h in entries])
    return {i: [p.hex() for p in _level_path(i, levels)] for i in indexes}


def chunked_path(index_in_chunk: int, chunk: list[str], chunk_index: int, roots: list[str]) -> list[str]:
    """The inclusion path of a leaf from its chunk's entries and every chunk's root."""
    lower = _level_path(index_in_chunk, _levels([_leaf(h) for h in chunk]))
    upper = _level_path(chunk_index, _levels([bytes.fromhex(r) for r in roots]))
    return [p.hex() for p in lower + upper]


def included(hash_hex: str, index: int, size: int, path: list[str], root_hex: str) -> bool:
    """Whether ``path`` proves leaf ``index`` of a tree of ``size`` leaves under ``root_hex``."""
    if not isinstance(index, int) or not isinstance(size, int) or not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, _leaf(hash_hex)
    for step in path:
        p = bytes.fromhex(step)
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r.hex() == root_hex


def leaf_entry(event_id: int, event_hash: str, last: bool) -> str:
    """What a version 3 checkpoint's tree holds for an event: its id, its hash, and whether it is
    the newest event of its contact's chain that the checkpoint seals (so a bundle holding it
    cannot leave out the events sealed after it in the same checkpoint)."""
    return sha256_hex(canonical({"hash": event_hash, "id": event_id, "last": last}))


# --- checkpoints and keys -----------------------------------------------------------------

def checkpoint_body(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The signed part of a checkpoint."""
    return {name: checkpoint.get(name) for name in CHECKPOINT_FIELDS}


def checkpoint_digest(checkpoint: dict[str, Any]) -> str:
    """SHA-256 of the signed part: what the next checkpoint names as ``prev_digest``."""
    return sha256_hex(canonical(checkpoint_body(checkpoint)))


def b64(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """Inverse of :func:`b64`."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public_raw: bytes) -> str:
    """A public key's id: the first 16 hex digits of the SHA-256 of its 32 raw bytes."""
    return sha256_hex(public_raw)[:16]


def load_public_keys(document: dict[str, Any]) -> dict[str, Any]:
    """key id -> Ed25519 public key, from a ``/.well-known/consent-ledger-keys`` document."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    keys = {}
    for entry in document.get("keys", []):
        if entry.get("algorithm") != "Ed25519":
            continue
        raw = unb64(entry["public_key"])
        if key_id(raw) != entry.get("key_id"):
            raise ValueError(f"key {entry.get('key_id')!r}: its id does not match its bytes")
        keys[entry["key_id"]] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


def checkpoint_problem(checkpoint: dict[str, Any], keys: dict[str, Any]) -> str | None:
    """What is wrong with a signed checkpoint (digest, key, signature), or None."""
    from cryptography.exceptions import InvalidSignature

    if checkpoint.get("digest") != checkpoint_digest(checkpoint):
        return "its digest does not match its content"
    key = keys.get(checkpoint.get("key_id"))
    if key is None:
        return f"signed by an unknown key {checkpoint.get('key_id')!r}"
    try:
        key.verify(unb64(checkpoint.get("signature") or ""), canonical(checkpoint_body(checkpoint)))
    except (InvalidSignature, ValueError):
        return "its signature is not valid"
    return None


# --- privacy notices -----------------------------------------------------------------------

#: The fields of a privacy notice version that its SHA-256 covers (what the person was shown).
NOTICE_FIELDS = ("account_id", "version", "effective_at", "content")


#: Evidence keys naming a privacy notice version: the one in force (shown), the one mailed.
NOTICE_KEYS = ("privacy_notice", "notice_sent")


def notice_digest(notice: dict[str, Any]) -> str:
    """SHA-256 of a privacy notice version's canonical fields: what consent events record."""
    return sha256_hex(canonical({name: notice.get(name) for name in NOTICE_FIELDS}))


def notice_refs(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    """The privacy notice versions an event's evidence names (``{"id", "version", "sha256"}``)."""
    return [evidence[key] for key in NOTICE_KEYS if isinstance(evidence.get(key), dict)]


# --- bundles ------------------------------------------------------------------------------

def _event_problem(event: dict[str, Any], expected_seq: int, expected_prev: str) -> str | None:
    payload = event.get("payload") or {}
    if payload.get("seq") != expected_seq:
        return f"out of order: expected seq {expected_seq}, found {payload.get('seq')}"
    if payload.get("prev_hash") != expected_prev:
        return "prev_hash does not match the hash of the event before it"
    if payload_hash(payload) != event.get("hash"):
        return "content does not match its hash"
    return _personal_problem(event, payload.get("pii_commitments") or {})


def _personal_problem(event: dict[str, Any], commitments: dict[str, str]) -> str | None:
    personal = event.get("personal") or {}
    for name in PERSONAL_FIELDS:
        value = personal.get(name)
        if value is None:
            # Retention forgets the full IP but keeps its prefix; anything else needs a redaction.
            retained = name == "ip" and personal.get("ip_prefix") is not None
            if name in commitments and not event.get("redacted_at") and not retained:
                return f"personal field {name!r} is missing but was never redacted"
            continue
        salt = event.get("pii_salt")
        if name not in commitments or not salt or commitment(salt, name, value) != commitments[name]:
            return f"personal field {name!r} was changed"
    return None


def _entry(event: dict[str, Any], checkpoint: dict[str, Any]) -> str | None:
    """The tree entry of ``event`` in ``checkpoint`` (None: the bundle does not say enough)."""
    if checkpoint.get("version", 2) < 3:
        return event.get("hash")
    last = event.get("last_in_checkpoint")
    if not isinstance(last, bool) or not isinstance(event.get("id"), int):
        return None
    return leaf_entry(event["id"], event["hash"], last)


def _seal_problem(event: dict[str, Any], checkpoints: dict[int, dict[str, Any]]) -> str | None:
    seq = event.get("checkpoint_seq")
    if seq is None:
        return "not sealed by any checkpoint"
    checkpoint = checkpoints.get(seq)
    if checkpoint is None:
        return f"its checkpoint {seq} is missing from the bundle"
    if not isinstance(event.get("id"), int) or not checkpoint["first_event_id"] <= event["id"] <= checkpoint["last_event_id"]:
        return f"its id is outside the range of checkpoint {seq}"
    entry = _entry(event, checkpoint)
    if entry is None or not included(entry, event.get("leaf_index", -1), checkpoint["event_count"],
                                     event.get("path") or [], checkpoint["events_root"]):
        return f"not included in checkpoint {seq} (its id, hash or place in the chain differ from what was sealed)"
    return None


def _reference_problem(payload: dict[str, Any], texts: dict, notices: dict) -> str | None:
    """The consent text and privacy notice an event records must be the bundle's own."""
    evidence = payload.get("evidence") or {}
    text = texts.get(payload.get("consent_text_id"))
    recorded = evidence.get("consent_text_sha256")
    if recorded and (text is None or text.get("sha256") != recorded):
        return "the consent text it records is missing from the bundle or differs"
    version = evidence.get("consent_text_version")
    if text is not None and version is not None and text.get("version") != version:
        return (f"it records consent text version {version}, but the bundle's consent text "
                f"{text.get('id')} says version {text.get('version')}")
    for notice in notice_refs(evidence):
        shown = notices.get(notice.get("id"))
        if shown is None or shown.get("sha256") != notice.get("sha256") or shown.get("version") != notice.get("version"):
            return (f"the privacy notice it records (version {notice.get('version')}) is missing from the "
                    "bundle or differs")
    return None


def _owner_problem(payload: dict[str, Any], bundle: dict[str, Any]) -> str | None:
    for name in ("account_id", "contact_id"):
        if payload.get(name) != bundle.get(name):
            return f"it belongs to {name} {payload.get(name)!r}, not the bundle's {bundle.get(name)!r}"
    return None


def _checked_checkpoints(bundle: dict[str, Any], keys: dict, problems: list[str]) -> dict[int, dict]:
    checkpoints = {}
    for checkpoint in bundle.get("checkpoints", []):
        problem = checkpoint_problem(checkpoint, keys)
        if problem:
            problems.append(f"checkpoint {checkpoint.get('seq')}: {problem}")
        else:
            checkpoints[checkpoint["seq"]] = checkpoint
    return checkpoints


def _checked_texts(bundle: dict[str, Any], problems: list[str]) -> dict:
    texts = {}
    for text in bundle.get("consent_texts", []):
        if sha256_hex(str(text.get("text", "")).encode()) != text.get("sha256"):
            problems.append(f"consent text {text.get('id')}: its text does not match its SHA-256")
        texts[text.get("id")] = text
    return texts


def _checked_notices(bundle: dict[str, Any], problems: list[str]) -> dict:
    notices = {}
    for notice in bundle.get("privacy_notices", []):
        if notice_digest(notice) != notice.get("sha256"):
            problems.append(f"privacy notice {notice.get('id')} (version {notice.get('version')}): "
                            "its content does not match its SHA-256")
        notices[notice.get("id")] = notice
    return notices


def _unreferenced(bundle: dict[str, Any], events: list[dict], problems: list[str]) -> None:
    """Consent texts and notices the bundle carries that no event records: not proof of anything."""
    payloads = [event.get("payload") or {} for event in events]
    named_texts = {p.get("consent_text_id") for p in payloads}
    named_notices = {ref.get("id") for p in payloads for ref in notice_refs(p.get("evidence") or {})}
    for text in bundle.get("consent_texts", []):
        if text.get("id") not in named_texts:
            problems.append(f"consent text {text.get('id')}: no event of the bundle records it")
    for notice in bundle.get("privacy_notices", []):
        if notice.get("id") not in named_notices:
            problems.append(f"privacy notice {notice.get('id')}: no event of the bundle records it")


def _tail_problems(events: list[dict], checkpoints: dict[int, dict]) -> list[str]:
    """Events a version 3 checkpoint sealed after one the bundle holds, but the bundle leaves out."""
    problems = []
    for position, event in enumerate(events):
        checkpoint = checkpoints.get(event.get("checkpoint_seq"))
        if checkpoint is None or checkpoint.get("version", 2) < 3 or event.get("last_in_checkpoint") is not False:
            continue
        following = events[position + 1] if position + 1 < len(events) else None
        if following is None or following.get("checkpoint_seq") != event["checkpoint_seq"]:
            problems.append(f"event {event.get('id')}: checkpoint {event['checkpoint_seq']} sealed a later event "
                            "of this contact that the bundle leaves out (events are missing)")
    return problems


def _subject_problems(bundle: dict[str, Any], events: list[dict]) -> list[str]:
    """The bundle's own ``email`` must be one its events record (their commitments are checked)."""
    email = bundle.get("email")
    if email is None:
        return []
    recorded = {(event.get("personal") or {}).get("email") for event in events}
    if email not in recorded:
        return [f"the bundle's address {email!r} is not the address its events record"]
    return []


def _time_problems(bundle: dict[str, Any], events: list[dict], checkpoints: dict[int, dict]) -> list[str]:
    """``generated_at`` is the portal's word only, but it cannot be older than what the bundle holds."""
    from datetime import datetime

    def parsed(value):
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None

    generated = parsed(bundle.get("generated_at"))
    if generated is None:
        return [f"its generated_at {bundle.get('generated_at')!r} is not a time"]
    times = [parsed((e.get("payload") or {}).get("occurred_at")) for e in events]
    times += [parsed(c.get("created_at")) for c in checkpoints.values()]
    newest = max((t for t in times if t is not None), default=None)
    if newest is not None and generated < newest:
        return [f"its generated_at {bundle['generated_at']} is older than the events and checkpoints it holds"]
    return []


def verify_bundle(bundle: dict[str, Any], keys_document: dict[str, Any]) -> list[str]:
    """Every problem of ``bundle`` under the public keys in ``keys_document``; [] when valid."""
    if bundle.get("format") not in BUNDLE_FORMATS:
        return [f"not a proof bundle (format {bundle.get('format')!r})"]
    problems: list[str] = []
    checkpoints = _checked_checkpoints(bundle, load_public_keys(keys_document), problems)
    texts, notices = _checked_texts(bundle, problems), _checked_notices(bundle, problems)
    events = bundle.get("events", [])
    expected_seq, expected_prev, previous_id = 1, GENESIS, None
    for event in events:
        payload = event.get("payload") or {}
        problem = (_event_problem(event, expected_seq, expected_prev) or _owner_problem(payload, bundle)
                   or _id_problem(event, previous_id) or _seal_problem(event, checkpoints)
                   or _reference_problem(payload, texts, notices))
        if problem:
            problems.append(f"event {event.get('id')}: {problem}")
        expected_seq, expected_prev = payload.get("seq", expected_seq) + 1, event.get("hash")
        previous_id = event.get("id")
    if not events:
        problems.append("the bundle holds no events")
    problems += _tail_problems(events, checkpoints) + _subject_problems(bundle, events)
    problems += _time_problems(bundle, events, checkpoints)
    _unreferenced(bundle, events, problems)
    return problems


def _id_problem(event: dict[str, Any], previous_id) -> str | None:
    """A chain's events get increasing ids (each is written after the one before it)."""
    if not isinstance(event.get("id"), int):
        return f"its id {event.get('id')!r} is not a number"
    if isinstance(previous_id, int) and event["id"] <= previous_id:
        return f"its id is not after the id {previous_id} of the event before it"
    return None


def complete_up_to(bundle: dict[str, Any]) -> int | None:
    """The newest checkpoint sealing an event of a valid bundle, when it is of version 3: no event
    of the contact that it or an earlier checkpoint sealed is left out. None for older checkpoints."""
    sealed = [event["checkpoint_seq"] for event in bundle.get("events", []) if event.get("checkpoint_seq")]
    newest = max(sealed, default=None)
    checkpoint = next((c for c in bundle.get("checkpoints", []) if c.get("seq") == newest), {})
    return newest if checkpoint.get("version", 2) >= 3 else None


def main(argv: list[str] | None = None) -> int:
    """Command line: print ``valid`` or each problem; exit 0 or 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", help="the proof bundle (JSON)")
    parser.add_argument("--keys", required=True, help="the ledger's public keys (JSON)")
    args = parser.parse_args(argv)
    try:
        with open(args.bundle, encoding="utf-8") as source:
            bundle = json.load(source)
        with open(args.keys, encoding="utf-8") as source:
            keys_document = json.load(source)
        problems = verify_bundle(bundle, keys_document)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        print(f"INVALID: cannot read the bundle or keys: {error}", file=sys.stderr)
        return 1
    if problems:
        for problem in problems:
            print(f"INVALID: {problem}", file=sys.stderr)
        return 1
    sealed = sorted({event["checkpoint_seq"] for event in bundle["events"]})
    print(f"valid: {len(bundle['events'])} events of {bundle.get('email') or 'an erased contact'} "
          f"(account {bundle.get('account_id')}, contact {bundle.get('contact_id')}), "
          f"sealed by checkpoint(s) {', '.join(map(str, sealed))}")
    complete = complete_up_to(bundle)
    if complete is None:
        print("its checkpoints predate version 3: it proves the events it holds, not that none was left out")
    else:
        print(f"complete up to checkpoint {complete}: no event that it or an earlier checkpoint sealed is left "
              "out; events sealed later are not in this bundle (compare with your copy of the checkpoints)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
