"""Retention: forget what is no longer needed (EDPB 05/2020 para 107; STANDARDS F-8).

* A signup never confirmed within ``PORTAL_PENDING_RETENTION_DAYS`` (default 30) is declined
  (the row stays, so a late confirmation link is refused) and the ledger gains a ``purged``
  event. A contact left with nothing else (no other subscription, no complaint) has its personal
  data redacted, without a suppression: they never asked to be forgotten, so they may sign up again.
* Full IP addresses in the ledger are dropped after ``PORTAL_IP_RETENTION_DAYS`` (default 180);
  the /24 (/48) prefix stays and verification still passes.

Safe from cron on several machines: on PostgreSQL a transaction-level advisory lock lets one run
work and the others return at once; SQLite has a single writer and the first write takes it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import exists, select, text, update

from portal.complaints.models import Complaint
from portal.consent.operations import drop_full_ips, record
from portal.consent.actors import SYSTEM_ACTOR
from portal.consent.models import EventType
from portal.db import utcnow
from portal.extensions import db
from portal.privacy.operations import redaction
from portal.subscriptions import operations as subscriptions
from portal.subscriptions.models import Contact, SignupRequest, Subscription, SubscriptionStatus

#: ``pg_try_advisory_xact_lock`` key of the purge ("portalpr").
LOCK_KEY = 0x706F7274616C7072


@dataclass
class PurgeReport:
    """What one run did; ``ran`` is False when another run held the lock."""

    ran: bool
    subscriptions: int = 0
    contacts: int = 0
    ips: int = 0


def _days(name: str) -> int:
    return int(current_app.config[name])


def _take_lock() -> bool:
    if db.engine.dialect.name == "postgresql":
        return bool(db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}))
    # SQLite: a write statement first, so a second run waits here rather than reading stale rows.
    db.session.execute(update(Contact).where(Contact.id == -1).values(name=None))
    return True


def purge(now: datetime | None = None) -> PurgeReport:
    """Decline stale pending signups, redact who is left with nothing, drop old full IPs (flushes)."""
    if not _take_lock():
        return PurgeReport(ran=False)
    now = now or utcnow()
    report = PurgeReport(ran=True)
    touched = _decline_stale(now - timedelta(days=_days("PORTAL_PENDING_RETENTION_DAYS")), report)
    for contact in touched:
        if _nothing_left(contact):
            redaction.redact_contact(contact, redaction.needles(contact))
            report.contacts += 1
    report.ips = drop_full_ips(now - timedelta(days=_days("PORTAL_IP_RETENTION_DAYS")))
    return report


def _decline_stale(cutoff: datetime, report: PurgeReport) -> list[Contact]:
    stale = list(db.session.scalars(select(Subscription).where(
        Subscription.status == SubscriptionStatus.PENDING, Subscription.requested_at < cutoff)
        .order_by(Subscription.id)))
    touched: dict[int, Contact] = {}
    for sub in stale:
        subscriptions.apply(sub, "decline")
        record(EventType.PURGED, contact=sub.contact, list_id=sub.list_id, source="retention",
               evidence={"reason": "never_confirmed", "status": SubscriptionStatus.PENDING},
               actor=SYSTEM_ACTOR)  # a cron job's, even when an operator runs it by hand
        touched[sub.contact_id] = sub.contact
        report.subscriptions += 1
    db.session.execute(update(SignupRequest).where(
        SignupRequest.confirmed_at.is_(None), SignupRequest.declined_at.is_(None),
        SignupRequest.created_at < cutoff).values(declined_at=utcnow()))
    return list(touched.values())


def _nothing_left(contact: Contact) -> bool:
    if contact.erased_at is not None:
        return False
    other = exists().where(Subscription.contact_id == contact.id,
                           Subscription.status != SubscriptionStatus.DECLINED)
    complained = exists().where(Complaint.contact_id == contact.id)
    return not db.session.scalar(select(other | complained))
