"""Subscriber rights: download my data, erase my data (confirmed by a link mailed to the address)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from portal import links
from portal.consent import operations as ledger
from portal.consent.models import EventType
from portal.db import utcnow
from portal.errors import TokenExpired, TokenInvalid
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.outbox import identity
from portal.outbox.operations import enqueue_mail
from portal.privacy import redaction
from portal.privacy.emails import erase_confirm_context
from portal.privacy.export import export_contact
from portal.subscriptions import operations as subscriptions
from portal.subscriptions.models import Contact, Subscription, SubscriptionStatus
from portal.suppression import operations as suppression
from portal.suppression.models import SuppressionChannel, SuppressionReason, SuppressionScope
from portal.tokens import load_token, make_token

__all__ = ["contact_for_preferences", "contact_for_erase_token", "erased_by_token", "erase_url", "export_contact",
           "request_erasure", "erase_contact"]

#: At most this many erasure mails per address per day, whatever is posted.
MAX_ERASE_MAILS_PER_DAY = 3


def _contact(contact_id: Any) -> Contact:
    contact = db.session.get(Contact, contact_id) if isinstance(contact_id, int) else None
    if contact is None:
        raise TokenInvalid()
    if contact.erased_at is not None:  # an erased person has no live links; the page names the sender
        raise TokenInvalid(account=contact.account)
    return contact


def contact_for_preferences(token: str) -> Contact:
    """The contact a preferences token names; :class:`TokenInvalid` otherwise."""
    return _contact(links.load_target("preferences", token).contact_id)


def erase_url(contact: Contact) -> str:
    """The short-lived link (``PORTAL_CONFIRM_MAX_AGE``) that confirms an erasure."""
    return f"{current_app.config['PORTAL_BASE_URL']}/erase/{make_token('erase', [contact.id])}"


def contact_for_erase_token(token: str) -> Contact:
    """The contact of an erase token; :class:`TokenExpired` once it is too old (naming the sender)."""
    return _contact(_erase_payload(token))


def erased_by_token(token: str) -> Contact | None:
    """The contact of an erase token once erased (its result page), else None."""
    contact_id = _erase_payload(token)
    contact = db.session.get(Contact, contact_id) if isinstance(contact_id, int) else None
    if contact is None:
        raise TokenInvalid()
    return contact if contact.erased_at is not None else None


def _erase_payload(token: str) -> Any:
    """The contact id an erase token carries; :class:`TokenExpired` naming the sender when too old."""
    try:
        payload = load_token("erase", token)
    except TokenExpired as error:
        contact = _expired_contact(error.payload)
        raise TokenExpired(payload=error.payload, account=contact.account if contact else None) from None
    if not isinstance(payload, list) or len(payload) != 1:
        raise TokenInvalid()
    return payload[0]


def _expired_contact(payload: Any) -> Contact | None:
    """The contact a well-signed but expired erase token named, if it still exists."""
    if isinstance(payload, list) and len(payload) == 1 and isinstance(payload[0], int):
        return db.session.get(Contact, payload[0])
    return None


def request_erasure(contact: Contact, *, locale: str) -> OutboxMessage | None:
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
                        context=erase_confirm_context(contact, erase_url(contact)),
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
    event = ledger.record(EventType.ERASED, contact=contact, source=source, evidence={"reason": "subject_request"})
    suppression.link(entry, event.id)
    return True


def _close_subscriptions(contact: Contact) -> None:
    for sub in db.session.scalars(select(Subscription).where(Subscription.contact_id == contact.id)):
        if sub.status == SubscriptionStatus.PENDING:
            subscriptions.apply(sub, "decline")
        elif sub.status == SubscriptionStatus.CONFIRMED:
            subscriptions.apply(sub, "unsubscribe")
