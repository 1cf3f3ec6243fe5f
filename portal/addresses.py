"""Email addresses: validation, normalisation, the hash suppressions are keyed by, roles."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from importlib import resources

import idna
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from portal.errors import ValidationFailed

MAX_LENGTH = 320
#: The longest address that can be sent to (RFC 5321 path limit, as the validator counts it).
MAX_SENDABLE = 254


class InvalidAddress(ValidationFailed):
    """Not an email address we can send to."""

    code = "invalid_email"
    message = "This is not a valid email address."


#: A plain ASCII dot-atom local part: email-validator accepts it exactly as given.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


@lru_cache(maxsize=65536)
def _domain(domain: str) -> str | None:
    """The domain as :func:`normalise` makes it (validated once per domain); None when refused."""
    normalised = _validate(f"a@{domain}")
    return normalised.rpartition("@")[2] if normalised else None


def _validate(address: str) -> str | None:
    try:
        return _validated(address)
    except InvalidAddress:
        return None


def _fast(address: str) -> str | None:
    """The normalised address for the common case (plain ASCII, a domain seen before), else None.

    Gives exactly what the validator gives, or None to send the address the full way: a plain
    dot-atom local part is taken as given, and the domain is validated once per domain.
    """
    local, at, domain = address.rpartition("@")
    if at and len(local) <= 64 and len(address) <= 254 and address.isascii() and _PLAIN_LOCAL.match(local):
        checked = _domain(domain)
        return f"{local}@{checked}" if checked else None
    return None


def normalise(address: str) -> str:
    """The address with its domain lower-cased and in IDNA ASCII; the local part as given.

    :raises InvalidAddress: the syntax is wrong (no DNS lookup is made).
    """
    if not isinstance(address, str) or len(address) > MAX_LENGTH or any(c in address for c in "\r\n\0"):
        raise InvalidAddress()
    return _fast(address.strip()) or _validated(address.strip())


def _validated(address: str) -> str:
    """:func:`normalise` by the validator itself."""
    try:
        info = validate_email(address.strip(), check_deliverability=False,
                              allow_smtputf8=True, allow_quoted_local=False)
    except (EmailNotValidError, UnicodeError, ValueError) as error:
        raise InvalidAddress(str(error) if isinstance(error, EmailNotValidError) else None) from None
    return f"{info.local_part}@{info.ascii_domain.lower()}"


def try_normalise(address: str) -> str | None:
    """:func:`normalise`, or None when the address is not valid."""
    try:
        return normalise(address)
    except InvalidAddress:
        return None


#: Why an address is refused, in a word: what a page tells the person (see :func:`problem`).
EMPTY, TOO_LONG, DOMAIN, FORMAT = "empty", "too_long", "domain", "format"


def problem(address: str | None) -> str | None:
    """Why ``address`` is refused: :data:`EMPTY`, :data:`TOO_LONG`, :data:`DOMAIN` (a reserved
    name that cannot receive mail, like ``localhost``) or :data:`FORMAT`; None when it is valid."""
    text = address.strip() if isinstance(address, str) else ""
    if not text:
        return EMPTY
    if try_normalise(text) is not None:
        return None
    if len(text) > MAX_SENDABLE:
        return TOO_LONG
    local, at, domain = text.rpartition("@")
    if local and at and domain.rstrip(".").rpartition(".")[2].lower() in SPECIAL_USE_DOMAIN_NAMES:
        return DOMAIN
    return FORMAT


def email_hash(normalised: str) -> str:
    """Hex SHA-256 of the normalised address, case-folded: the key of contacts and suppressions.

    Case-folding the local part too means ``Ann@x.org`` and ``ann@x.org`` are one contact and
    one suppression; mailbox providers treat them alike, and erring towards suppression is safe.
    """
    return hashlib.sha256(normalised.lower().encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def _role_local_parts() -> frozenset[str]:
    text = resources.files("portal.data").joinpath("role_addresses.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def is_role_address(normalised: str) -> bool:
    """Whether the local part names a role (``info@``, ``noreply+x@``) rather than a person."""
    local = normalised.rsplit("@", 1)[0].lower().split("+", 1)[0]
    return local in _role_local_parts()


#: Letters or digits a postal address has at the least, once spaces and invisible characters go.
MIN_POSTAL_CHARACTERS = 3


def is_postal_address(value: str | None) -> bool:
    """Whether ``value`` can be an account's postal address: the one rule of send-check, imports
    and the footer. Whitespace, zero-width and other format or control characters do not count;
    at least :data:`MIN_POSTAL_CHARACTERS` letters or digits must remain (``"."``, ``" "`` and
    ``"\u200b"`` are not addresses)."""
    if not isinstance(value, str):
        return False
    meaningful = sum(1 for char in value if unicodedata.category(char)[0] in "LN")
    return meaningful >= MIN_POSTAL_CHARACTERS


def _first_character(local: str) -> str:
    """The local part's first character as a person sees it: with the combining marks that follow it."""
    end = 1
    while end < len(local) and unicodedata.combining(local[end]):
        end += 1
    return local[:end]


def _readable_domain(domain: str) -> str:
    """The domain as people write it: an IDNA (``xn--``) domain in Unicode, else as given."""
    try:
        return idna.decode(domain)
    except (idna.IDNAError, UnicodeError, ValueError):
        return domain


def mask(address: str | None) -> str | None:
    """``a***@example.org``: the first character of the local part and the domain, never the rest.

    The same three stars whatever the length, so a mask tells neither the length of the local
    part nor a ``+tag``; the domain is shown in Unicode. None for no address (erased).
    """
    if not address or "@" not in address:
        return None
    local, _at, domain = address.rpartition("@")
    if not local or not domain:
        return None
    return f"{_first_character(local)}***@{_readable_domain(domain.lower())}"
