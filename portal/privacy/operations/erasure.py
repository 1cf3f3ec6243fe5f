"""Erasing a person's data at their request, confirmed by a link mailed to the address (the
download of their data reads: :mod:`portal.privacy.export`)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from portal import links
from portal.consent.operations import record
from portal.consent.models import EventType
from portal.db import utcnow
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.outbox import identity
from portal.outbox.operations import enqueue_mail
from portal.privacy.operations import redaction
from portal.privacy.emails import erase_confirm_context
from portal.subscriptions import operations as subscriptions
from portal.subscriptions.models import Contact, Subscription, SubscriptionStatus
from portal.suppression import operations as suppression
from portal.suppression.models import SuppressionChannel, SuppressionReason, SuppressionScope

#: At most this many erasure mails per address per day, whatever is posted.
MAX_ERASE_MAILS_PER_DAY = 3


def queue_erasure_link(contact: Contact, *, locale: str) -> OutboxMessage | None:
    """Mail the address a link that confirms the erasure; nothing happens until it is followed.

    A forwarded preferences link alone cannot erase anyone: only who reads the mailbox can.
    Returns None (and sends nothing) once erased or after a few mails today.
    """
    if contact.email is None:
        return None
    since = utcnow() - timedelta(days=1)
    sent_today = db.session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.kind == "erase_confirm", OutboxMessage.recipient == contact.email,
        OutboxMessage.created_at >= since))
    if sent_today >= MAX_ERASE_MAILS_PER_DAY:
        return None
    return enqueue_mail("erase_confirm", to=contact.email, locale=locale, account_id=contact.account_id,
                        context=erase_confirm_context(contact, links.erase_url(contact.id)),
                        sender=identity.for_account(contact.account))


def erase_contact(contact: Contact, *, source: str = "subscriber") -> bool:
    """Erase a person's data within the account; a hashed suppression keeps them unmailed.

    The ledger keeps its rows and hashes (only personal fields are redacted) and gains an
    ``erased`` event with no personal data. Idempotent: False when already erased.
    """
    if contact.email is None and contact.erased_at is not None:
        return False
    found = redaction.needles(contact)
    entry = None
    if contact.email:
        entry = suppression.add(contact.email, scope=SuppressionScope.ACCOUNT, reason=SuppressionReason.ERASED,
                                account_id=contact.account_id, source="erasure", channel=SuppressionChannel.ERASURE)
    _close_subscriptions(contact)
    redaction.redact_contact(contact, found)
    event = record(EventType.ERASED, contact=contact, source=source, evidence={"reason": "subject_request"})
    suppression.link(entry, event.id)
    return True


def _close_subscriptions(contact: Contact) -> None:
    for sub in db.session.scalars(select(Subscription).where(Subscription.contact_id == contact.id)):
        if sub.status == SubscriptionStatus.PENDING:
            subscriptions.apply(sub, "decline")
        elif sub.status == SubscriptionStatus.CONFIRMED:
            subscriptions.apply(sub, "unsubscribe")
