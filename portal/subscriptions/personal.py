"""What names a person in stored text: the needles of a contact and the checks that look for them.

Used by erasure (:mod:`portal.privacy.operations.redaction`) and by the complaint mails, which withhold a Subject
that names the person who complained; it lives here, below both, so neither imports the other.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from sqlalchemy import select

from portal.consent.models import ConsentEvent
from portal.extensions import db
from portal.subscriptions.models import Contact, SignupRequest

#: What replaces an erased value where a column cannot be NULL.
MARKER = "[erased]"
#: Evidence keys that hold personal data whatever their value.
PERSONAL_KEYS = frozenset({"email", "name", "ip", "user_agent", "page_url", "referrer", "referer",
                           "original_rcpt_to", "to", "from", "text"})


def needles(contact: Contact) -> list[str]:
    """What identifies the person, lower-cased: address, name (3+ letters), IPs seen in evidence."""
    found = [contact.email, contact.name if contact.name and len(contact.name) >= 3 else None]
    found += db.session.scalars(select(ConsentEvent.ip).where(
        ConsentEvent.contact_id == contact.id, ConsentEvent.ip.is_not(None)).distinct())
    for evidence in db.session.scalars(select(SignupRequest.evidence).where(SignupRequest.contact_id == contact.id)):
        found += [str(v) for k, v in (evidence or {}).items() if k == "ip" and v]
    return sorted({value.lower() for value in found if value}, key=len, reverse=True)


def mentions(value: Any, found: Iterable[str]) -> bool:
    """Whether ``value`` (text, bytes or JSON) contains any of ``found``, in any case."""
    if value is None:
        return False
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False)
    text = text.lower()
    return any(needle in text for needle in found)


def scrub(value: Any, found: list[str]) -> Any:
    """``value`` (JSON) without personal keys, and with every string mentioning the person erased."""
    if isinstance(value, dict):
        return {k: (None if k.lower() in PERSONAL_KEYS else scrub(v, found)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(item, found) for item in value]
    if isinstance(value, str) and mentions(value, found):
        return MARKER
    return value
