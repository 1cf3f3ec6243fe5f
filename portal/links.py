"""The links in mail and headers: which token each carries, and the URL it makes.

The one module that makes and reads :mod:`portal.tokens`: every purpose has its make/load pair
here; who a loaded token names is :mod:`portal.subscriptions.holders`' answer.

Payloads are opaque ids only (see :mod:`portal.tokens`). A message reference (the platform's
``message_id``), when given, rides along so that the ledger can say which message an unsubscribe
or complaint came from: sealed (AES-SIV under a key derived from ``SECRET_KEY``), so that no one
who sees the URL can read it. Links mailed before it was sealed still carry it as plain text,
and still work.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from flask import current_app

from portal.errors import TokenExpired, TokenInvalid
from portal.tokens import load_compact, load_token, make_compact, make_compacts, make_token, make_tokens, token_minter

MAX_MESSAGE_REF = 200


def _base() -> str:
    return current_app.config["PORTAL_BASE_URL"]


@dataclass(frozen=True)
class Target:
    """What a subscriber link names: a contact, maybe a list, maybe a message."""

    contact_id: int
    list_id: str | None = None
    message_ref: str | None = None


@lru_cache(maxsize=16)
def _sealer(secret_key: str) -> AESSIV:
    """AES-SIV (deterministic, authenticated) under a 512-bit key derived from ``secret_key``."""
    return AESSIV(hmac.digest(secret_key.encode("utf-8"), b"portal.message-ref", hashlib.sha512))


def seal(value: str, label: bytes) -> str:
    """``value`` encrypted with the newest key for the use ``label`` (unpadded base64url): a URL
    may carry it, no one who sees the URL can read it, and no other use accepts it."""
    sealed = _sealer(current_app.config["SECRET_KEY"]).encrypt(value.encode("utf-8"), [label])
    return urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")


def unseal(sealed: str, label: bytes) -> str:
    """The value of :func:`seal` for ``label``, under any key (fallbacks included); else :class:`TokenInvalid`."""
    try:
        data = urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
    except (ValueError, TypeError):
        raise TokenInvalid() from None
    config = current_app.config
    for key in (config["SECRET_KEY"], *reversed(config.get("SECRET_KEY_FALLBACKS", []))):
        try:
            return _sealer(key).decrypt(data, [label]).decode("utf-8")
        except (InvalidTag, ValueError, UnicodeError):
            continue
    raise TokenInvalid()


def seal_ref(message_ref: str) -> str:
    """The message reference, encrypted with the newest key (unpadded base64url)."""
    return seal(message_ref, b"ref")


def open_ref(sealed: str) -> str:
    """The message reference of :func:`seal_ref`, under any key (fallbacks included)."""
    return unseal(sealed, b"ref")


def _pack(target: Target) -> list:
    payload: list = [target.contact_id, target.list_id]
    if target.message_ref:
        payload.append([seal_ref(target.message_ref[:MAX_MESSAGE_REF])])
    return payload


def _unpack(payload) -> Target:
    if (not isinstance(payload, list) or not 2 <= len(payload) <= 3 or not isinstance(payload[0], int)
            or not (payload[1] is None or isinstance(payload[1], str))):
        raise TokenInvalid()
    return Target(payload[0], payload[1], _message_ref(payload[2]) if len(payload) == 3 else None)


def _message_ref(value) -> str:
    """A sealed reference (``[sealed]``), or a plain one from a link mailed before sealing."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return open_ref(value[0])
    raise TokenInvalid()


def target_token(purpose: str, target: Target) -> str:
    """A token of ``purpose`` (unsubscribe, preferences, complaint) naming ``target``."""
    return make_token(purpose, _pack(target))


def load_target(purpose: str, token: str) -> Target:
    """The target of a token of ``purpose`` (``mailto``: see :func:`load_mail_token`; ``erase``:
    :func:`load_erase`); :class:`TokenInvalid` when it is not one."""
    if purpose == "mailto":
        return load_mail_token(token)
    if purpose == "erase":
        return load_erase(token)
    return _unpack(load_token(purpose, token))


# --- the mailto: unsubscribe address ----------------------------------------------------

#: Contact id (8 bytes) and list id (12 bytes) in a mail token.
_MAIL_DATA = 20
_LIST_ID = re.compile(r"[0-9a-f]{24}\Z")


def mail_token(target: Target) -> str:
    """The token of the ``mailto:`` unsubscribe address of ``target`` (a contact and a list).

    52 characters of lower-case base32 (:func:`portal.tokens.make_compact`), so the local part
    ``unsubscribe+<token>`` is 64 characters, RFC 5321's most, and a server that changes the
    case of local parts does not break it. No message ref: it would not fit. A target this
    form cannot carry (no list, an id of another shape) gets an ``unsubscribe`` token instead.
    """
    if target.list_id is None or not _LIST_ID.match(target.list_id) or not 0 <= target.contact_id < 2**63:
        return target_token("unsubscribe", Target(target.contact_id, target.list_id))
    return make_compact("mailto", target.contact_id.to_bytes(8, "big") + bytes.fromhex(target.list_id))


def load_mail_token(token: str) -> Target:
    """The target of a mailto token; mails sent before compact tokens carry ``unsubscribe`` ones
    (which always hold a ".", as a compact token never does)."""
    if not isinstance(token, str):
        raise TokenInvalid()
    if "." in token:
        return load_target("unsubscribe", token)
    data = load_compact("mailto", token, _MAIL_DATA)
    return Target(int.from_bytes(data[:8], "big"), data[8:].hex())


def in_language(url: str, locale: str) -> str:
    """``url`` with ``lang=<locale>`` when it is one of the portal's pages (others unchanged), so a
    link in a mail opens its page in the mail's language whatever the browser prefers."""
    if not isinstance(url, str) or not url.startswith(_base() + "/") or locale not in current_app.config["PORTAL_LOCALES"]:
        return url
    parts = urlsplit(url)
    query = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if name != "lang"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("lang", locale)])))


def unsubscribe_url(target: Target) -> str:
    return f"{_base()}/unsubscribe/{target_token('unsubscribe', target)}"


def preferences_url(target: Target) -> str:
    return f"{_base()}/preferences/{target_token('preferences', target)}"


def complaint_url(target: Target) -> str:
    return f"{_base()}/complaint/{target_token('complaint', target)}"


#: The purposes of the links each message carries.
LINK_PURPOSES = ("unsubscribe", "preferences", "complaint")


def target_tokens(target: Target) -> dict[str, str]:
    """purpose -> token of ``target`` for each of :data:`LINK_PURPOSES`, minted together (bulk)."""
    return dict(zip(LINK_PURPOSES, make_tokens(LINK_PURPOSES, _pack(target))))


def targets_tokens(targets: list[Target]) -> list[dict[str, str]]:
    """:func:`target_tokens` of each target, minted in one pass (keys, signers and the sealing key looked up once)."""
    mint = token_minter(LINK_PURPOSES)
    sealer = _sealer(current_app.config["SECRET_KEY"])
    sealed: dict[str, str] = {}

    def seal(message_ref: str) -> str:
        value = sealed.get(message_ref)
        if value is None:
            data = sealer.encrypt(message_ref.encode("utf-8"), [b"ref"])
            value = sealed[message_ref] = urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
        return value

    answers = []
    for target in targets:
        payload: list = [target.contact_id, target.list_id]
        if target.message_ref:
            payload.append([seal(target.message_ref[:MAX_MESSAGE_REF])])
        answers.append(dict(zip(LINK_PURPOSES, mint(payload))))
    return answers


def mail_tokens(targets: list[Target]) -> list[str]:
    """:func:`mail_token` of each target, the compact ones made together."""
    compact = [target.list_id is not None and _LIST_ID.match(target.list_id) is not None
               and 0 <= target.contact_id < 2**63 for target in targets]
    made = iter(make_compacts("mailto", [target.contact_id.to_bytes(8, "big") + bytes.fromhex(target.list_id)
                                          for target, fits in zip(targets, compact) if fits]))
    return [next(made) if fits else mail_token(target) for target, fits in zip(targets, compact)]


def target_urls(target: Target, tokens: dict[str, str] | None = None) -> dict[str, str]:
    """``unsubscribe_url``, ``preferences_url`` and ``complaint_url`` of ``target`` (from ``tokens`` if given)."""
    base = _base()
    return {f"{purpose}_url": f"{base}/{purpose}/{token}"
            for purpose, token in (tokens or target_tokens(target)).items()}


def confirm_token(signup_request_id: int) -> str:
    """A double-opt-in token bound to one signup request."""
    return make_token("confirm", [signup_request_id])


def load_confirm(token: str) -> int:
    """The signup request id of a confirmation token (:class:`TokenExpired` keeps the payload)."""
    payload = load_token("confirm", token)
    if not isinstance(payload, list) or len(payload) != 1 or not isinstance(payload[0], int):
        raise TokenInvalid()
    return payload[0]


def confirm_url(signup_request_id: int) -> str:
    return f"{_base()}/confirm/{confirm_token(signup_request_id)}"


# --- links bound to more than a contact ------------------------------------------------

def _ids(payload, count: int) -> tuple[int, ...] | None:
    """``payload`` as ``count`` integer ids, or None when it is not that."""
    if not isinstance(payload, list) or len(payload) != count or not all(type(item) is int for item in payload):
        return None
    return tuple(payload)


def erase_url(contact_id: int) -> str:
    """The short-lived link (``PORTAL_CONFIRM_MAX_AGE``) that confirms the erasure of a contact."""
    return f"{_base()}/erase/{make_token('erase', [contact_id])}"


def load_erase(token: str) -> Target:
    """The contact an erase token names, as a target without a list.

    :raises TokenExpired: too old; its ``payload`` is the target it named (None if malformed).
    """
    try:
        ids = _ids(load_token("erase", token), 1)
    except TokenExpired as error:
        ids = _ids(error.payload, 1)
        raise TokenExpired(payload=Target(ids[0]) if ids else None) from None
    if ids is None:
        raise TokenInvalid()
    return Target(ids[0])


def undo_token(contact_id: int, event_id: int) -> str:
    """The short-lived token (``PORTAL_UNDO_MAX_AGE``) that undoes one unsubscribe event of a contact."""
    return make_token("undo", [contact_id, event_id])


def load_undo(token: str) -> tuple[int, int]:
    """``(contact id, event id)`` of an undo token.

    :raises TokenExpired: too old; its ``payload`` is that pair (None if malformed).
    """
    try:
        ids = _ids(load_token("undo", token), 2)
    except TokenExpired as error:
        raise TokenExpired(payload=_ids(error.payload, 2)) from None
    if ids is None:
        raise TokenInvalid()
    return ids


def manage_token(account_id: str | None) -> str:
    """The signed value of the "send me a link" form: the sender it names, if any (never expires)."""
    return make_token("manage", [account_id] if account_id is not None else [])


def load_manage(token: str) -> str | None:
    """The account id a :func:`manage_token` names; None when it names none."""
    payload = load_token("manage", token)
    if payload == []:
        return None
    if not isinstance(payload, list) or len(payload) != 1 or not isinstance(payload[0], str):
        raise TokenInvalid()
    return payload[0]
