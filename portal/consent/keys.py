"""The ledger's keys, kept outside the database: the Ed25519 signing key and the HMAC key.

The HMAC key (``PORTAL_LEDGER_HMAC_KEY_PATH``) keys every event's ``mac``; the signing key
(``PORTAL_LEDGER_SIGNING_KEY_PATH``) signs checkpoints. They are separate files so that the
signing key can be rotated (its public half retired, still served for old checkpoints) while
the HMAC key, which must verify every event ever written, stays.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from typing import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

from portal.consent.verify import b64, key_id


_loading = threading.Lock()


class LedgerKeyMissing(RuntimeError):
    """A ledger key file is absent and may not be created (``PORTAL_LEDGER_CREATE_KEYS`` off)."""


@dataclass
class LedgerKeys:
    """The loaded keys of one app."""

    signing: Ed25519PrivateKey
    signing_id: str
    hmac_key: bytes
    #: key id -> public key, the current one included.
    public: dict[str, Ed25519PublicKey]
    retired: list[str]


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public: Ed25519PublicKey) -> str:
    """The id of a public key, as checkpoints name it."""
    return key_id(_raw(public))


def _path(setting: str, default_name: str) -> str:
    return current_app.config.get(setting) or os.path.join(current_app.instance_path, default_name)


def _create_allowed(path: str, setting: str) -> None:
    if not current_app.config["PORTAL_LEDGER_CREATE_KEYS"]:
        raise LedgerKeyMissing(f"{setting}: {path} does not exist (create it with `flask ledger keygen`)")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


def _write_private(path: str, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        target.write(data)


def generate_signing_key(path: str) -> Ed25519PrivateKey:
    """Write a new Ed25519 private key (PEM, PKCS#8, mode 0600) to ``path``."""
    key = Ed25519PrivateKey.generate()
    _write_private(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return key


def generate_hmac_key(path: str) -> bytes:
    """Write a new 256-bit HMAC key (hex, mode 0600) to ``path``."""
    value = secrets.token_hex(32)
    _write_private(path, value.encode() + b"\n")
    return bytes.fromhex(value)


def _load_signing(path: str) -> Ed25519PrivateKey:
    if not os.path.exists(path):
        _create_allowed(path, "PORTAL_LEDGER_SIGNING_KEY_PATH")
        try:
            return generate_signing_key(path)
        except FileExistsError:
            pass  # another worker created it first: read theirs
    with open(path, "rb") as source:
        key = serialization.load_pem_private_key(source.read(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"PORTAL_LEDGER_SIGNING_KEY_PATH: {path} is not an Ed25519 private key")
    return key


def _load_hmac(path: str) -> bytes:
    if not os.path.exists(path):
        _create_allowed(path, "PORTAL_LEDGER_HMAC_KEY_PATH")
        try:
            return generate_hmac_key(path)
        except FileExistsError:
            pass  # another worker created it first: read theirs
    with open(path, encoding="ascii") as source:
        return bytes.fromhex(source.read().strip())


def missing_files(app) -> list[str]:
    """``SETTING: path`` of each ledger key file ``app`` needs that does not exist."""
    with app.app_context():
        wanted = [("PORTAL_LEDGER_SIGNING_KEY_PATH", _path("PORTAL_LEDGER_SIGNING_KEY_PATH", "ledger-signing.pem")),
                  ("PORTAL_LEDGER_HMAC_KEY_PATH", _path("PORTAL_LEDGER_HMAC_KEY_PATH", "ledger-hmac.key"))]
    wanted += [("PORTAL_LEDGER_RETIRED_KEY_PATHS", path) for path in app.config["PORTAL_LEDGER_RETIRED_KEY_PATHS"]]
    return [f"{setting}: {path}" for setting, path in wanted if not os.path.exists(path)]


def check_start(app) -> None:
    """Stop a start that would need a key it may not create (production, a forgotten path).

    Commands (``flask ...``) are let through, so that ``flask ledger keygen`` can make the keys;
    one that needs a missing key stops at its first use with :class:`LedgerKeyMissing`.
    """
    import click

    from portal.config import ConfigError

    if app.config["PORTAL_LEDGER_CREATE_KEYS"] or click.get_current_context(silent=True) is not None:
        return
    missing = missing_files(app)
    if missing:
        raise ConfigError("Ledger key files are missing (PORTAL_LEDGER_CREATE_KEYS is off outside development):\n  "
                          + "\n  ".join(missing) + "\nCreate them with `flask --app wsgi ledger keygen --signing PATH "
                          "--hmac PATH` and point the settings at them.")


def load_public(path: str) -> Ed25519PublicKey:
    """The public key in a PEM file (a public key, or the public half of a private key)."""
    with open(path, "rb") as source:
        data = source.read()
    if b"PRIVATE KEY" in data:
        return serialization.load_pem_private_key(data, password=None).public_key()
    return serialization.load_pem_public_key(data)


def ledger_keys() -> LedgerKeys:
    """The current app's keys, loaded (or, in development, created) once."""
    cached = current_app.extensions.get("ledger_keys")
    if cached is not None:
        return cached
    with _loading:
        if "ledger_keys" not in current_app.extensions:
            current_app.extensions["ledger_keys"] = _load()
    return current_app.extensions["ledger_keys"]


def _load() -> LedgerKeys:
    signing = _load_signing(_path("PORTAL_LEDGER_SIGNING_KEY_PATH", "ledger-signing.pem"))
    signing_id = key_id_of(signing.public_key())
    public = {signing_id: signing.public_key()}
    retired = []
    for path in current_app.config["PORTAL_LEDGER_RETIRED_KEY_PATHS"]:
        old = load_public(path)
        retired.append(key_id_of(old))
        public.setdefault(retired[-1], old)
    return LedgerKeys(signing, signing_id,
                      _load_hmac(_path("PORTAL_LEDGER_HMAC_KEY_PATH", "ledger-hmac.key")), public, retired)


def event_mac(event_hash: str) -> str:
    """The keyed hash of an event: HMAC-SHA256 of its hash (which covers its whole payload)."""
    message = b"consent-ledger-event\0" + event_hash.encode()
    return hmac.new(ledger_keys().hmac_key, message, hashlib.sha256).hexdigest()


def event_mac_function() -> Callable[[str], str]:
    """:func:`event_mac` with the key read once, for a batch of events (the same macs)."""
    keyed = hmac.new(ledger_keys().hmac_key, b"consent-ledger-event\0", hashlib.sha256)

    def mac(event_hash: str) -> str:
        copy = keyed.copy()
        copy.update(event_hash.encode())
        return copy.hexdigest()
    return mac


def mac_matches(event_hash: str, mac: str | None) -> bool:
    """Whether ``mac`` is the keyed hash of ``event_hash``."""
    return mac is not None and hmac.compare_digest(event_mac(event_hash), mac)


def sign(message: bytes) -> tuple[str, str]:
    """(key id, base64url signature) of ``message`` with the current signing key."""
    keys = ledger_keys()
    return keys.signing_id, b64(keys.signing.sign(message))


def public_document() -> dict:
    """``/.well-known/consent-ledger-keys``: every key that may have signed a checkpoint."""
    keys = ledger_keys()
    return {"keys": [{"key_id": kid, "algorithm": "Ed25519", "public_key": b64(_raw(public)),
                      "status": "current" if kid == keys.signing_id else "retired"}
                     for kid, public in keys.public.items()]}
