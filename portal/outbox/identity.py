"""Who a mail is from: the customer, sent by the platform, on the platform's sending domain.

Mail about an account's lists goes ``From: "<account> via <platform>" <local@sending-domain>``
with ``Reply-To`` the account's contact address; the platform's own mail (notices to a customer)
goes from ``MAIL_DEFAULT_SENDER``. The From address, the envelope sender and the Message-ID are
all on the sending domain (``PORTAL_MAIL_FROM_DOMAIN``, else ``MAIL_DEFAULT_SENDER``'s), so SPF,
DKIM and DMARC align with one domain the platform controls. Display names are cleaned of line
breaks and control characters here; the MIME layer then quotes or encodes them.
"""
from __future__ import annotations

import re
from email.charset import Charset
from email.headerregistry import Address
from email.utils import formataddr, make_msgid, parseaddr
from typing import Any

from flask import current_app

#: Longest display name kept (a From line stays readable; the rest is cut at a word).
MAX_NAME = 100
#: Line breaks, tabs and every other control or separator character: folded to one space.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\s]+")


def one_line(text: str | None) -> str:
    """``text`` on one line: no CR, LF or control characters, spaces collapsed."""
    return _UNSAFE.sub(" ", text or "").strip()


def clean_name(name: str | None) -> str:
    """``name`` on one line (:func:`one_line`), at most :data:`MAX_NAME` characters."""
    text = one_line(name)
    if len(text) > MAX_NAME:
        text = text[:MAX_NAME].rsplit(" ", 1)[0].rstrip() or text[:MAX_NAME]
    return text


def _default_sender() -> tuple[str, str]:
    return parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")


def sending_domain() -> str:
    """``PORTAL_MAIL_FROM_DOMAIN``, else the domain of ``MAIL_DEFAULT_SENDER``, else ``localhost``."""
    configured = current_app.config.get("PORTAL_MAIL_FROM_DOMAIN")
    if configured:
        return configured
    address = _default_sender()[1]
    return address.rpartition("@")[2].lower() if "@" in address else "localhost"


def sending_address() -> str:
    """The platform's address on the sending domain: ``MAIL_DEFAULT_SENDER``'s local part there."""
    local = _default_sender()[1].rpartition("@")[0] or "no-reply"
    return f"{local}@{sending_domain()}"


def message_id(domain: str | None = None) -> str:
    """A new ``Message-ID`` on the sending domain (``domain``: that domain, read once by a caller
    that makes many: reading it parses the configured sender, tens of microseconds each time)."""
    return make_msgid(domain=domain or sending_domain())


def single_address(value: str | None) -> str | None:
    """``value`` when it is one plain address (no name, list, line break); else None."""
    if not value or any(c in value for c in "\r\n,;<>\"()"):
        return None
    try:
        address = Address(addr_spec=value.strip())
    except (ValueError, IndexError, TypeError):
        return None
    return address.addr_spec if address.username and address.domain else None


def on_behalf_of(name: str | None, contact_email: str | None) -> dict[str, Any]:
    """The sender of a mail about a customer's lists (stored in the outbox row's payload)."""
    platform = clean_name(current_app.config.get("PORTAL_PLATFORM_NAME"))
    customer = clean_name(name)
    display = f"{customer} via {platform}" if customer and platform else customer or platform
    return {"name": display, "address": sending_address(), "reply_to": single_address(contact_email)}


def platform() -> dict[str, Any]:
    """The sender of the platform's own mail: ``MAIL_DEFAULT_SENDER`` (named ``PORTAL_PLATFORM_NAME`` if it has no name)."""
    name, address = _default_sender()
    name = clean_name(name) or clean_name(current_app.config.get("PORTAL_PLATFORM_NAME"))
    return {"name": name, "address": address or sending_address(), "reply_to": None}


def from_header(name: str | None, address: str) -> str:
    """The From value: the cleaned name quoted as needed (RFC 5322) when it is short ASCII, else
    RFC 2047 encoded words, one a line (also when it holds what a reader would decode as an encoded
    word, ``=?``). Every line fits 78 characters, so the MIME layer sends it as it is: refolding
    would decode and re-encode it, and turn a literal ``=?...?=`` into an encoded word."""
    display = one_line(name)
    plain = formataddr((display, address))
    if display.isascii() and "=?" not in display and len(plain) <= 70:
        return plain
    return "\n ".join([*_encoded_words(display), f"<{address}>"])


def _encoded_words(text: str) -> list[str]:
    """``text`` as RFC 2047 encoded words of at most 40 bytes of text each (so under 75 characters),
    cut after a space where possible: a short name is one word, which every reader decodes exactly."""
    pieces = [""]
    for word in re.findall(r"[^ ]+ ?| ", text):
        for part in [word] if len(word.encode()) <= 40 else [word[i:i + 10] for i in range(0, len(word), 10)]:
            if len((pieces[-1] + part).encode()) > 40:
                pieces.append("")
            pieces[-1] += part
    utf8 = Charset("utf-8")
    return [utf8.header_encode(piece) for piece in pieces if piece]


def for_account(account) -> dict[str, Any]:
    """:func:`on_behalf_of` an account (its display name, else its name, and its contact address)."""
    return on_behalf_of(account.display_name or account.name, account.contact_email)
