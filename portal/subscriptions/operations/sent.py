"""The ledger event of a mail that left, registered with the outbox when this package is imported
(the outbox is a leaf: it calls the hooks the domains register, and imports none of them)."""
from __future__ import annotations

from typing import Any

from portal.consent.actors import SYSTEM_ACTOR
from portal.consent.operations import record
from portal.extensions import db
from portal.outbox.operations import on_sent
from portal.subscriptions.models import Contact


@on_sent
def record_sent(message_id: int, ledger: dict[str, Any], message_ref: str | None) -> None:
    """The ledger event of a mail that left (a re-permission mail, a privacy notice): who, which list,
    why, from the ``ledger`` entry its context carries. The mail leaving is the system's work."""
    contact = db.session.get(Contact, ledger["contact_id"])
    if contact is not None:
        record(ledger["type"], contact=contact, source=ledger["source"], list_id=ledger.get("list_id"),
               message_ref=message_ref, evidence={**(ledger.get("evidence") or {}), "outbox_message_id": message_id},
               actor=SYSTEM_ACTOR)
