"""Signed link tokens: one purpose (salt) per link type, each with its own lifetime.

Payloads are short lists of opaque ids (never an address or a name): itsdangerous
tokens are signed, not encrypted, and anyone can read what they carry.
"""
from __future__ import annotations

import hmac
import json
import zlib
from typing import Callable, Sequence
from base64 import b32decode, b32encode, urlsafe_b64encode
from datetime import timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import orjson
from flask import current_app
from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode
from itsdangerous.signer import HMACAlgorithm, Signer

from portal.errors import TokenExpired, TokenInvalid

#: purpose -> name of the config key holding its max age (None: never expires).
PURPOSES: dict[str, str | None] = {
    "confirm": "PORTAL_CONFIRM_MAX_AGE",
    "unsubscribe": None,
    "preferences": None,
    "complaint": None,
    "erase": "PORTAL_CONFIRM_MAX_AGE",
    #: The undo offered on an unsubscribe's own answer page, bound to that unsubscribe event.
    "undo": "PORTAL_UNDO_MAX_AGE",
    "receipt": None,
    #: The "send me a link" form of the invalid-link pages: the sender it names, if known. It does
    #: not expire, so that every page naming one sender (or none) is the same page (STANDARDS I-16).
    "manage": None,
}


def _keys() -> list[str]:
    """Signing keys oldest first: the fallbacks, then the current key (itsdangerous order)."""
    config = current_app.config
    return [*config.get("SECRET_KEY_FALLBACKS", []), config["SECRET_KEY"]]


def _serializer(purpose: str):
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return _build_serializer(purpose, tuple(_keys()))


@lru_cache(maxsize=64)
def _build_serializer(purpose: str, keys: tuple[str, ...]):
    """One serializer per purpose and key list (a rotation makes a new one)."""
    cls = URLSafeTimedSerializer if PURPOSES[purpose] else URLSafeSerializer
    return cls(list(keys), salt=f"portal.{purpose}")


@lru_cache(maxsize=64)
def _prepared_mac(purpose: str, keys: tuple[str, ...]) -> tuple[bytes, bytes] | None:
    """For a purpose that never expires: (the newest key as itsdangerous derives it, separator).

    itsdangerous derives the key and builds a signer and an HMAC object for every token; a
    one-shot HMAC-SHA1 with the key derived once gives the same signature without that work.
    None for timed purposes (their signer adds a timestamp) or a signer that is not the
    default HMAC-SHA1.
    """
    serializer = _build_serializer(purpose, keys)
    signer = serializer.make_signer()
    if (PURPOSES[purpose] or type(signer) is not Signer or type(signer.algorithm) is not HMACAlgorithm
            or signer.algorithm.digest_method is not HMACAlgorithm.default_digest_method):
        return None
    return signer.derive_key(), signer.sep


def _sign(purpose: str, keys: tuple[str, ...], encoded: bytes) -> str:
    prepared = _prepared_mac(purpose, keys)
    if prepared is None:
        return _build_serializer(purpose, keys).make_signer().sign(encoded).decode("utf-8")
    key, sep = prepared
    signature = urlsafe_b64encode(hmac.digest(key, encoded, "sha1")).rstrip(b"=")  # itsdangerous's default
    return (encoded + sep + signature).decode("ascii")


#: itsdangerous's compact JSON, built once rather than per call.
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _compact_json(payload: Any) -> bytes:
    """itsdangerous's JSON of ``payload`` (``ensure_ascii=False``, no spaces), by ``orjson`` when it writes the same.

    Both escape only the quote, the backslash and control characters, the same way; ``orjson``
    refuses what it would write otherwise (an integer beyond 64 bits, a lone surrogate, a float
    or another type it might spell differently is never given to it), and those go to ``json``.
    """
    if _plain(payload):
        try:
            return orjson.dumps(payload)
        except TypeError:
            pass
    return _COMPACT_JSON.encode(payload).encode("utf-8")


def _plain(value: Any) -> bool:
    """Whether ``value`` is made of lists, strings, ints and None only."""
    if value is None or type(value) in (str, int):
        return True
    return type(value) is list and all(map(_plain, value))


def _dump_payload(payload: Any) -> bytes:
    """Exactly what ``URLSafeSerializer.dump_payload`` gives (compact JSON, zlib when shorter, base64)."""
    data = _compact_json(payload)
    compressed = zlib.compress(data)
    if len(compressed) < len(data) - 1:
        return b"." + urlsafe_b64encode(compressed).rstrip(b"=")
    return urlsafe_b64encode(data).rstrip(b"=")


def make_token(purpose: str, payload: Any) -> str:
    """Sign ``payload`` (opaque ids only) for ``purpose`` with the newest key."""
    return make_tokens((purpose,), payload)[0]


def make_tokens(purposes: tuple[str, ...], payload: Any) -> list[str]:
    """:func:`make_token` for several purposes at once: the payload is encoded once, signed per purpose.

    Each token is exactly what itsdangerous's ``dumps`` gives; this only saves time in bulk.
    """
    for purpose in purposes:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown token purpose {purpose!r}")
    keys = tuple(_keys())
    encoded = _dump_payload(payload)
    return [_sign(purpose, keys, encoded) for purpose in purposes]


def token_minter(purposes: tuple[str, ...]) -> Callable[[Any], list[str]]:
    """A function giving :func:`make_tokens` ``(purposes, payload)`` for each payload it is called with.

    The keys are read and each purpose's signer prepared once, for minting in bulk (thousands
    of recipients a call); every token is byte for byte what :func:`make_tokens` gives.
    """
    for purpose in purposes:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown token purpose {purpose!r}")
    keys = tuple(_keys())
    signers = [_signer(purpose, keys) for purpose in purposes]

    def mint(payload: Any) -> list[str]:
        encoded = _dump_payload(payload)
        return [sign(encoded) for sign in signers]

    return mint


def _signer(purpose: str, keys: tuple[str, ...]) -> Callable[[bytes], str]:
    prepared = _prepared_mac(purpose, keys)
    if prepared is None:
        return lambda encoded: _sign(purpose, keys, encoded)
    key, sep = prepared
    digest, encode = hmac.digest, urlsafe_b64encode

    def sign(encoded: bytes) -> str:
        return (encoded + sep + encode(digest(key, encoded, "sha1")).rstrip(b"=")).decode("ascii")

    return sign


def _canonical_signature(token: str) -> bool:
    """Whether the signature is spelled the one way its bytes encode to.

    The last base64 character of a 20-byte signature carries 2 unused bits that itsdangerous
    ignores, so a token with that character changed would still verify; refusing the other
    spellings makes every one-character change fail (STANDARDS A-HDR-4).
    """
    if not isinstance(token, str):
        return False
    signature = token.rpartition(".")[2]
    try:
        return base64_encode(base64_decode(signature)).decode("ascii") == signature
    except (ValueError, UnicodeError, BadData):
        return False


def load_token(purpose: str, token: str) -> Any:
    """Verify a token for ``purpose`` and return its payload.

    :raises TokenExpired: the signature is good but the token is older than its max age.
    :raises TokenInvalid: anything else: tampered, another purpose, an unknown key, garbage.
    """
    serializer = _serializer(purpose)
    setting = PURPOSES[purpose]
    if not _canonical_signature(token):
        raise TokenInvalid()
    try:
        if setting:
            max_age: timedelta = current_app.config[setting]
            return serializer.loads(token, max_age=max_age.total_seconds())
        return serializer.loads(token)
    except SignatureExpired as error:
        raise TokenExpired(payload=error.payload and serializer.load_payload(error.payload)) from None
    except (BadSignature, UnicodeError, ValueError, TypeError):
        raise TokenInvalid() from None


# --- compact tokens ---------------------------------------------------------------------

#: Bytes of HMAC-SHA256 a compact token keeps (96 bits: each forgery attempt is a mail).
COMPACT_MAC_BYTES = 12


def _compact_mac(key: str, label: str, data: bytes) -> bytes:
    message = f"portal.{label}".encode() + b"\0" + data
    return hmac.digest(key.encode("utf-8"), message, "sha256")[:COMPACT_MAC_BYTES]


def make_compact(label: str, data: bytes) -> str:
    """``data`` and its MAC in lower-case base32, unpadded: letters and digits of one case.

    For where a token must be short and survive a change of case (a mail address's local
    part). Like every token it is signed, not encrypted: ``data`` holds opaque ids only.
    """
    return b32encode(data + _compact_mac(_keys()[-1], label, data)).decode("ascii").rstrip("=").lower()


_BASE32 = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)


def make_compacts(label: str, datas: Sequence[bytes]) -> list[str]:
    """:func:`make_compact` of each of ``datas`` (all of one length), the base32 done for all at once."""
    if not datas:
        return []
    key = _keys()[-1]
    raw = b"".join(data + _compact_mac(key, label, data) for data in datas)
    size = len(raw) // len(datas)
    if size * len(datas) != len(raw):
        raise ValueError("compact tokens in bulk must carry data of one length")
    chars = -(-size * 8 // 5)
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8).reshape(len(datas), size), axis=1)
    bits = np.pad(bits, ((0, 0), (0, chars * 5 - size * 8)))
    values = bits.reshape(len(datas), chars, 5) @ np.array([16, 8, 4, 2, 1], dtype=np.uint8)
    text = _BASE32[values].tobytes().decode("ascii")
    return [text[start:start + chars] for start in range(0, len(text), chars)]


def load_compact(label: str, token: str, size: int) -> bytes:
    """The ``size`` bytes of data of a :func:`make_compact` token (any case), checked against
    every key, the fallbacks included.

    :raises TokenInvalid: wrong length, not base32, not spelled the one way its bytes encode
        to (so no changed character verifies), or a MAC no key gives.
    """
    length = -(-(size + COMPACT_MAC_BYTES) * 8 // 5)  # base32 characters, unpadded
    if not isinstance(token, str) or len(token) != length or not token.isascii():
        raise TokenInvalid()
    token = token.lower()
    try:
        raw = b32decode(token.upper() + "=" * (-len(token) % 8))
    except ValueError:
        raise TokenInvalid() from None
    if b32encode(raw).decode("ascii").rstrip("=").lower() != token:
        raise TokenInvalid()
    data, mac = raw[:size], raw[size:]
    if not any(hmac.compare_digest(mac, _compact_mac(key, label, data)) for key in _keys()):
        raise TokenInvalid()
    return data
