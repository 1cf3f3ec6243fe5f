"""Mail sent to the ``mailto:`` address of a List-Unsubscribe header.

The token in the recipient address (``unsubscribe+<token>@<domain>``) is the credential:
From, Subject and body are never read, and nothing is ever sent back (no auto-reply loops).
Only the header block is parsed (the body is never split into MIME parts), and header values
are searched as sent: the structured address parser of ``email.policy.default`` is quadratic
on some values (a ``To`` of 80,000 quotes took 50 s). This module reads the mail; the
unsubscribe is :func:`portal.preferences.operations.unsubscribe_by_mail`.
"""
from __future__ import annotations

import email.policy
import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser

from portal.errors import ValidationFailed
from portal.preferences.headers import MAILTO_PREFIX

#: Where a recipient address may be found, most reliable (set by the receiving MTA) first.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "Original-Recipient",
                     "Original-Rcpt-To", "To", "Cc")
#: A mail has at least one of these (RFC 5322 originator, destination or trace fields).
_MAIL_FIELDS = frozenset(name.lower() for name in (*RECIPIENT_HEADERS, "From", "Sender", "Date", "Subject",
                                                   "Message-ID", "Received", "Return-Path", "MIME-Version"))
_TOKEN = re.compile(re.escape(MAILTO_PREFIX) + r"([A-Za-z0-9_.\-]+)@", re.IGNORECASE)


@dataclass
class InboundResult:
    """What an inbound unsubscribe mail did."""

    matched: bool
    action: str = "none"
    account_id: str | None = None
    list_id: str | None = None

    def as_dict(self) -> dict:
        return {"matched": self.matched, "action": self.action, "account_id": self.account_id,
                "list_id": self.list_id}


def parse(raw: bytes):
    """The mail's headers as an :class:`email.message.EmailMessage`; 422 when the bytes are not a mail."""
    message = BytesHeaderParser(policy=email.policy.default).parsebytes(raw or b"")
    if not raw or not raw.strip() or not _MAIL_FIELDS.intersection(k.lower() for k in message.keys()):
        raise ValidationFailed("The body is not an RFC 5322 mail message.", code="not_a_message")
    return message


def candidate_tokens(message, envelope_recipient: str | None = None) -> list[str]:
    """Tokens found in the recipient addresses, envelope first, each once."""
    raw = [(name.lower(), value) for name, value in message.raw_items()]
    values = [envelope_recipient or ""]
    for wanted in RECIPIENT_HEADERS:
        values += [value for name, value in raw if name == wanted.lower()]
    tokens: dict[str, None] = {}
    for value in values:
        tokens.update(dict.fromkeys(_TOKEN.findall(value)))
    return list(tokens)


def message_id(message) -> str | None:
    """The mail's own Message-ID as sent, unfolded (read raw, like the recipients)."""
    value = next((value for name, value in message.raw_items() if name.lower() == "message-id"), "")
    return " ".join(str(value).split()) or None
