"""Undoing an unsubscribe from its own answer page: exactly what that event changed, once.

Which event a token may undo, and until when, is read by :mod:`portal.preferences.undo`.
"""
from __future__ import annotations

from sqlalchemy import select

from portal.addresses import email_hash
from portal.consent.evidence import RequestEvidence
from portal.consent.models import ConsentEvent, EventType
from portal.extensions import db
from portal.preferences.operations.unsubscribe import ACCOUNT, LIST, PreferenceOutcome, record_event, restorable
from portal.subscriptions import operations as subscriptions
from portal.subscriptions.holders import Holder
from portal.subscriptions.models import Subscription, SubscriptionStatus
from portal.suppression import operations as suppressions
from portal.suppression.models import Suppression, SuppressionChannel, SuppressionReason


def undo(holder: Holder, event: ConsentEvent, context: RequestEvidence) -> PreferenceOutcome:
    """Undo one unsubscribe (checked by :func:`portal.preferences.undo.undoable_event`): rejoin the confirmed lists it
    ended that are still left, and lift the suppression it added if it is still there."""
    subscriptions.lock_contact(holder.contact)
    scope = LIST if event.list_id is not None else ACCOUNT
    lists, suppression_id = restorable(event)
    lifted = _lift(holder, suppression_id, event)
    rejoined = [list_id for list_id in lists if _rejoin(holder, list_id)]
    cause = None  # the event the lifted suppression's feed row names
    for list_id in rejoined:
        cause = record_event(holder, EventType.RESUBSCRIBED, list_id, context, scope=scope, undo_of=event.id)
    if scope == ACCOUNT and rejoined:
        cause = record_event(holder, EventType.RESUBSCRIBED, None, context, scope=ACCOUNT, lists=rejoined,
                             undo_of=event.id)
    if lifted is not None and not rejoined:
        cause = record_event(holder, EventType.UNSUPPRESSED, event.list_id, context, scope=lifted.scope,
                             reason=SuppressionReason.UNSUBSCRIBED, undo_of=event.id)
    if lifted is not None:
        suppressions.link(lifted, cause.id)
    return PreferenceOutcome(scope, rejoined, bool(lifted is not None or rejoined))


def _lift(holder: Holder, suppression_id: int | None, event: ConsentEvent) -> Suppression | None:
    """Remove the one suppression the event added, if it is still there and is the person's;
    the entry lifted, or None."""
    entry = db.session.get(Suppression, suppression_id) if suppression_id is not None else None
    if (entry is None or holder.contact.email is None or entry.reason != SuppressionReason.UNSUBSCRIBED
            or entry.account_id != holder.account.id or entry.email_hash != email_hash(holder.contact.email)):
        return None
    removed = suppressions.remove(entry, note="undone by the subscriber", source=f"undo:{event.id}",
                                  channel=SuppressionChannel.UNDO)
    return entry if removed else None


def _rejoin(holder: Holder, list_id: str) -> bool:
    """Give back one list the event ended, if it is still left and was confirmed by the person."""
    subscription = db.session.scalars(select(Subscription).where(
        Subscription.contact_id == holder.contact.id, Subscription.list_id == list_id)).first()
    if (subscription is None or subscription.status != SubscriptionStatus.UNSUBSCRIBED
            or subscription.confirmed_at is None):
        return False
    return subscriptions.apply(subscription, "resubscribe")
