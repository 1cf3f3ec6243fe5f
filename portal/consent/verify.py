"""Check a consent proof bundle offline: ``python -m portal.consent.verify bundle.json --keys keys.json``.

This file needs the standard library and ``cryptography`` only: no database, no Flask, no other
module of the portal. An auditor may copy it alone and run ``python verify.py bundle.json
--keys keys.json``. The portal uses the same functions to hash, seal and sign, so there is one
definition of each.

A bundle holds one contact's events (each with the exact payload that was hashed), the consent
texts they refer to, and the signed checkpoints that seal them, each event with its Merkle
inclusion path (RFC 9162, section 2.1) up to its checkpoint's ``events_root``. The keys file is
what ``GET /.well-known/consent-ledger-keys`` answers.
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
BUNDLE_FORMAT = "consent-ledger-proof/1"


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

def _leaf(hash_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(hash_hex)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = leaves
    # Pairing bottom-up and lifting an odd last node unchanged builds the RFC 9162 tree.
    while len(level) > 1:
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def merkle_root(hashes: Iterable[str]) -> str:
    """The Merkle root of event hashes in id order."""
    return _root([_leaf(h) for h in hashes]).hex()


def _path(index: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return _path(index, leaves[:k]) + [_root(leaves[k:])]
    return _path(index - k, leaves[k:]) + [_root(leaves[:k])]


def inclusion_paths(hashes: list[str], indexes: Iterable[int]) -> dict[int, list[str]]:
    """Inclusion path of each leaf in ``indexes`` within the tree of ``hashes``."""
    leaves = [_leaf(h) for h in hashes]
    return {i: [p.hex() for p in _path(i, leaves)] for i in indexes}


def included(hash_hex: str, index: int, size: int, path: list[str], root_hex: str) -> bool:
    """Whether ``path`` proves leaf ``index`` of a tree of ``size`` leaves under ``root_hex``."""
    if not 0 <= index < size:
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


# --- bundles ------------------------------------------------------------------------------

def _event_problem(event: dict[str, Any], expected_seq: int, expected_prev: str) -> str | None:
    payload = event.get("payload") or {}
    if payload.get("seq") != expected_seq:
        return f"out of order: expected seq {expected_seq}, found {payload.get('seq')}"
    if payload.get("prev_hash") != expected_prev:
        return "prev_hash does not match the hash of the event before it"
    if payload_hash(payload) != event.get("hash"):
        return "content does not match its hash"
    commitments = payload.get("pii_commitments") or {}
    for name in PERSONAL_FIELDS:
        value = (event.get("personal") or {}).get(name)
        if value is None:
            if name in commitments and not event.get("redacted_at") and name != "ip":
                return f"personal field {name!r} is missing but was never redacted"
            continue
        salt = event.get("pii_salt")
        if name not in commitments or not salt or commitment(salt, name, value) != commitments[name]:
            return f"personal field {name!r} was changed"
    return None


def _seal_problem(event: dict[str, Any], checkpoints: dict[int, dict[str, Any]]) -> str | None:
    seq = event.get("checkpoint_seq")
    if seq is None:
        return "not sealed by any checkpoint"
    checkpoint = checkpoints.get(seq)
    if checkpoint is None:
        return f"its checkpoint {seq} is missing from the bundle"
    if not checkpoint["first_event_id"] <= event.get("id", -1) <= checkpoint["last_event_id"]:
        return f"its id is outside the range of checkpoint {seq}"
    if not included(event["hash"], event.get("leaf_index", -1), checkpoint["event_count"],
                     event.get("path") or [], checkpoint["events_root"]):
        return f"not included in checkpoint {seq}"
    return None


def verify_bundle(bundle: dict[str, Any], keys_document: dict[str, Any]) -> list[str]:
    """Every problem of ``bundle`` under the public keys in ``keys_document``; [] when valid."""
    if bundle.get("format") != BUNDLE_FORMAT:
        return [f"not a proof bundle (format {bundle.get('format')!r})"]
    keys = load_public_keys(keys_document)
    problems, checkpoints = [], {}
    for checkpoint in bundle.get("checkpoints", []):
        problem = checkpoint_problem(checkpoint, keys)
        if problem:
            problems.append(f"checkpoint {checkpoint.get('seq')}: {problem}")
        else:
            checkpoints[checkpoint["seq"]] = checkpoint
    texts = {}
    for text in bundle.get("consent_texts", []):
        if sha256_hex(text.get("text", "").encode()) != text.get("sha256"):
            problems.append(f"consent text {text.get('id')}: its text does not match its SHA-256")
        texts[text.get("id")] = text.get("sha256")
    expected_seq, expected_prev = 1, GENESIS
    for event in bundle.get("events", []):
        where = f"event {event.get('id')}"
        problem = _event_problem(event, expected_seq, expected_prev) or _seal_problem(event, checkpoints)
        payload = event.get("payload") or {}
        recorded = (payload.get("evidence") or {}).get("consent_text_sha256")
        if not problem and recorded and texts.get(payload.get("consent_text_id")) != recorded:
            problem = "the consent text it records is missing from the bundle or differs"
        if problem:
            problems.append(f"{where}: {problem}")
        expected_seq, expected_prev = payload.get("seq", expected_seq) + 1, event.get("hash")
    if not bundle.get("events"):
        problems.append("the bundle holds no events")
    return problems


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
    print(f"valid: {len(bundle['events'])} events of {bundle.get('email') or 'an erased contact'}, "
          f"sealed by checkpoint(s) {', '.join(map(str, sealed))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
