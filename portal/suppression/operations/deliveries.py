"""Deliveries and bounces reported by the sending platform.

``delivered`` refreshes ``last_contacted_at``, resets the soft-bounce count and is added to the
account's hourly delivered counts (the complaint rates' denominator); a hard bounce
suppresses the address for the account, moves its subscriptions to ``bounced`` and is written
to the ledger; ``PORTAL_SOFT_BOUNCE_LIMIT`` soft bounces in a row count as a hard bounce.
The same (message id, type, address) reported again is recognised and does nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from portal.accounts.models import Account
from portal.addresses import email_hash, try_normalise
from portal.consent.operations import record
from portal.consent.models import EventType
from portal.extensions import db
from portal.subscriptions.models import Contact
from portal.subscriptions.operations import apply, can
from portal.suppression.operations import entries as suppressions, feed
from portal.suppression.models import (DeliveryCount, DeliveryEvent, SuppressionChannel, SuppressionReason,
                                       SuppressionScope, hour_of)


@dataclass
class DeliveryOutcome:
    """What a batch of events did."""

    accepted: int = 0
    duplicates: int = 0
    invalid: int = 0
    suppressed: int = 0


def _insert_new(account: Account, rows: list[dict]) -> set[tuple[str, str, str]]:
    """Insert the events not seen before; the (message_id, type, hash) keys that were new."""
    if not rows:
        return set()
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(DeliveryEvent).on_conflict_do_nothing()
                 .returning(DeliveryEvent.message_id, DeliveryEvent.type, DeliveryEvent.email_hash))
    new: set[tuple[str, str, str]] = set()
    for start in range(0, len(rows), 1000):
        new.update(db.session.execute(statement, rows[start:start + 1000]))
    return new


def count_delivered(account_id: str, ats: Sequence[datetime]) -> None:
    """Add new ``delivered`` events to the account's hourly counts (one upsert per hour)."""
    from collections import Counter

    if not ats:
        return
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    rows = [{"account_id": account_id, "hour": hour, "delivered": n}
            for hour, n in sorted(Counter(map(hour_of, ats)).items())]
    statement = dialect.insert(DeliveryCount)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["account_id", "hour"],
        set_={"delivered": DeliveryCount.delivered + statement.excluded.delivered}), rows)


def _contacts(account: Account, hashes: Sequence[str]) -> dict[str, Contact]:
    found: dict[str, Contact] = {}
    for condition in suppressions.where_in(Contact.email_hash, sorted(set(hashes))):
        found.update((c.email_hash, c) for c in db.session.scalars(
            select(Contact).where(Contact.account_id == account.id, condition)))
    return found


def _bounce(account: Account, address: str, contact: Contact | None, at: datetime, message_id: str,
            note: str) -> bool:
    """Suppress for the account, move subscriptions to bounced, write the ledger; True if new."""
    entry = suppressions.add(address, scope=SuppressionScope.ACCOUNT, reason=SuppressionReason.HARD_BOUNCE,
                             account_id=account.id, source="deliveries", note=note, channel=SuppressionChannel.BOUNCE)
    if contact is not None:
        for subscription in contact.subscriptions:
            if can(subscription, "bounce"):
                apply(subscription, "bounce")
        event = record(EventType.BOUNCED, contact=contact, source="deliveries", message_ref=message_id,
                       evidence={"kind": note}, occurred_at=at)
        feed.link(entry, event.id)
    return entry is not None


def _delivered(contact: Contact | None, at: datetime) -> None:
    for subscription in contact.subscriptions if contact else ():
        if subscription.last_contacted_at is None or subscription.last_contacted_at < at:
            subscription.last_contacted_at = at
        subscription.soft_bounces = 0


def _soft_bounced(contact: Contact | None) -> bool:
    """Count a soft bounce; True when some subscription reached the limit."""
    limit = current_app.config["PORTAL_SOFT_BOUNCE_LIMIT"]
    reached = False
    for subscription in contact.subscriptions if contact else ():
        subscription.soft_bounces = (subscription.soft_bounces or 0) + 1
        reached = reached or subscription.soft_bounces >= limit
    return reached


def record_events(account: Account, events: Sequence) -> DeliveryOutcome:
    """Apply a batch of delivery events (each once, however often it is reported)."""
    outcome = DeliveryOutcome()
    parsed, rows = [], []
    for event in events:
        address = try_normalise(event.email)
        if address is None:
            outcome.invalid += 1
            continue
        at = event.at if event.at.tzinfo else event.at.replace(tzinfo=timezone.utc)
        hashed = email_hash(address)
        parsed.append((event, address, hashed, at.astimezone(timezone.utc)))
        rows.append({"account_id": account.id, "message_id": event.message_id, "type": event.type,
                     "email_hash": hashed, "at": at})
    new = _insert_new(account, rows)
    contacts = _contacts(account, [hashed for _e, _a, hashed, _at in parsed])
    delivered = []
    for event, address, hashed, at in parsed:
        key = (event.message_id, event.type, hashed)
        if key not in new:
            outcome.duplicates += 1
            continue
        new.discard(key)  # a repeat inside the same batch counts once too
        outcome.accepted += 1
        contact = contacts.get(hashed)
        if event.type == "delivered":
            _delivered(contact, at)
            delivered.append(at)
        elif event.type == "hard_bounce" or _soft_bounced(contact):
            kind = "hard_bounce" if event.type == "hard_bounce" else "soft_bounce_limit"
            outcome.suppressed += _bounce(account, address, contact, at, event.message_id, kind)
    count_delivered(account.id, delivered)
    db.session.flush()
    return outcome
