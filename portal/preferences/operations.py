"""Unsubscribing from a list or from a whole account, undoing it, and saying why.

Every change writes the subscription state, the suppression entry and the ledger event in
the caller's transaction. A repeat that changes nothing writes nothing (idempotent).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from portal.consent import operations as ledger
from portal.consent.models import ConsentEvent, EventType
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.webhooks import operations as webhooks
from portal.preferences.holders import Holder
from portal.subscriptions import operations as subscriptions
from portal.subscriptions.models import Subscription, SubscriptionStatus
from portal.suppression import operations as suppressions
from portal.suppression.models import SuppressionReason, SuppressionScope

#: Where an unsubscribe came from (the ledger event's ``source``).
SOURCES = ("link", "one_click", "mailto", "preferences")
#: Ledger event type of the optional reason given after unsubscribing.
UNSUBSCRIBE_REASON = "unsubscribe_reason"
#: Reasons a person may pick (codes kept in the ledger; no free text, so no personal data).
REASONS = ("too_frequent", "not_relevant", "never_signed_up", "other")
LIST, ACCOUNT = "list", "account"


@dataclass(frozen=True)
class Context:
    """The evidence of one request: channel, network address, browser, message."""

    source: str
    ip: str | None = None
    user_agent: str | None = None
    message_ref: str | None = None
    #: The Message-ID of an inbound mailto: unsubscribe mail (kept in the ledger's evidence).
    inbound_message_id: str | None = None


@dataclass
class Outcome:
    """What an unsubscribe or undo did: the lists whose state changed, and whether anything did."""

    scope: str
    lists: list[str] = field(default_factory=list)
    changed: bool = False


def unsubscribe(holder: Holder, scope: str, context: Context) -> Outcome:
    """Unsubscribe the holder from the token's list (``list``) or from every list (``account``)."""
    _check(scope, context)
    subscriptions.lock_contact(holder.contact)
    if scope == ACCOUNT or holder.mailing_list is None:
        return _unsubscribe_account(holder, context)
    return unsubscribe_list(holder, holder.mailing_list.id, context)


def undo(holder: Holder, scope: str, context: Context) -> Outcome:
    """Undo an unsubscribe: lift its suppression and resubscribe lists once confirmed."""
    _check(scope, context)
    subscriptions.lock_contact(holder.contact)
    if scope == ACCOUNT or holder.mailing_list is None:
        return _undo_account(holder, context)
    return resubscribe_list(holder, holder.mailing_list.id, context)


def record_reason(holder: Holder, reason: str, context: Context) -> ConsentEvent:
    """Keep the (optional) reason for an unsubscribe as a ledger event of its own."""
    if reason not in REASONS:
        raise ValidationFailed(f"unknown reason {reason!r}")
    return ledger.record(UNSUBSCRIBE_REASON, contact=holder.contact, source=context.source,
                         list_id=_list_id(holder), ip=context.ip, user_agent=context.user_agent,
                         message_ref=context.message_ref, evidence={"reason": reason})


def _check(scope: str, context: Context) -> None:
    if scope not in (LIST, ACCOUNT):
        raise ValidationFailed(f"unknown scope {scope!r}")
    if context.source not in SOURCES:
        raise ValidationFailed(f"unknown source {context.source!r}")


def _list_id(holder: Holder) -> str | None:
    return holder.mailing_list.id if holder.mailing_list else None


def _subscription(holder: Holder, list_id: str) -> Subscription | None:
    return db.session.scalars(select(Subscription).where(
        Subscription.contact_id == holder.contact.id, Subscription.list_id == list_id)).first()


def _leave(subscription: Subscription | None) -> bool:
    """Move a pending or confirmed subscription to unsubscribed (a pending one is cancelled)."""
    return (subscription is not None and subscriptions.can(subscription, "unsubscribe")
            and subscriptions.apply(subscription, "unsubscribe"))


def suppress(holder: Holder, scope: str, list_id: str | None, context: Context) -> bool:
    """Add the holder's ``unsubscribed`` suppression in one scope; False when it already was."""
    if holder.contact.email is None:
        return False  # erased: the erasure's own suppression already covers the address
    entry = suppressions.add(holder.contact.email, scope=scope, reason=SuppressionReason.UNSUBSCRIBED,
                             account_id=holder.account.id, list_id=list_id,
                             source=f"unsubscribe:{context.source}")
    return entry is not None


def _record(holder: Holder, type_: str, list_id: str | None, context: Context, **evidence) -> None:
    if context.inbound_message_id:
        evidence["inbound_message_id"] = context.inbound_message_id[:500]
    ledger.record(type_, contact=holder.contact, source=context.source, list_id=list_id, ip=context.ip,
                  user_agent=context.user_agent, message_ref=context.message_ref, evidence=evidence)
    if type_ == EventType.UNSUBSCRIBED:
        webhooks.emit(holder.account.id, "unsubscribed", {"contact_id": holder.contact.id,
                                                          "email": holder.contact.email,
                                                          "list_id": list_id, "channel": context.source})


def unsubscribe_list(holder: Holder, list_id: str, context: Context) -> Outcome:
    """Leave one list: subscription ended (a pending one cancelled), list suppressed, event kept."""
    subscriptions.lock_contact(holder.contact)
    subscription = _subscription(holder, list_id)
    was = subscription.status if subscription is not None else None
    left = _leave(subscription)
    added = suppress(holder, SuppressionScope.LIST, list_id, context)
    outcome = Outcome(LIST, [list_id] if left else [], left or added)
    if outcome.changed:
        _record(holder, EventType.UNSUBSCRIBED, list_id, context, scope=LIST, previous_status=was)
    return outcome


def _unsubscribe_account(holder: Holder, context: Context) -> Outcome:
    left = [sub.list_id for sub in _subscriptions_of(holder) if _leave(sub)]
    added = suppress(holder, SuppressionScope.ACCOUNT, None, context)
    for list_id in left:
        _record(holder, EventType.UNSUBSCRIBED, list_id, context, scope=ACCOUNT)
    if added:
        # The account-wide event names the lists it ended, so that an undo restores those only.
        _record(holder, EventType.UNSUBSCRIBED, None, context, scope=ACCOUNT, lists=left)
    return Outcome(ACCOUNT, left, bool(left) or added)


def _subscriptions_of(holder: Holder) -> list[Subscription]:
    return list(db.session.scalars(select(Subscription).where(
        Subscription.contact_id == holder.contact.id).order_by(Subscription.id)))


def lift_own(holder: Holder, scope: str, list_id: str | None, note: str) -> bool:
    """Remove the holder's own ``unsubscribed`` suppression in one scope; other reasons stay."""
    if holder.contact.email is None:
        return False
    lifted = False
    for entry in suppressions.entries_for(holder.contact.email, holder.account.id, list_id):
        same_scope = entry.scope == scope and (scope != SuppressionScope.LIST or entry.list_id == list_id)
        if same_scope and entry.reason == SuppressionReason.UNSUBSCRIBED:
            suppressions.remove(entry, note=note, source=f"resubscribe:{holder.contact.id}")
            lifted = True
    return lifted


def can_resubscribe(subscription: Subscription | None) -> bool:
    """Only a list the person once confirmed can be rejoined without a new double opt-in."""
    return (subscription is not None and subscription.confirmed_at is not None
            and subscription.status in (SubscriptionStatus.UNSUBSCRIBED, SubscriptionStatus.CONFIRMED))


def resubscribe_list(holder: Holder, list_id: str, context: Context) -> Outcome:
    """Rejoin one list the person had confirmed before; nothing for any other list."""
    subscriptions.lock_contact(holder.contact)
    subscription = _subscription(holder, list_id)
    if not can_resubscribe(subscription):
        return Outcome(LIST)
    lifted = lift_own(holder, SuppressionScope.LIST, list_id, "undone by the subscriber")
    rejoined = (subscription.status != SubscriptionStatus.CONFIRMED
                and subscriptions.apply(subscription, "resubscribe"))
    outcome = Outcome(LIST, [list_id] if rejoined else [], lifted or rejoined)
    if outcome.changed:
        _record(holder, EventType.RESUBSCRIBED, list_id, context, scope=LIST)
    return outcome


def _undo_account(holder: Holder, context: Context) -> Outcome:
    lifted = lift_own(holder, SuppressionScope.ACCOUNT, None, "undone by the subscriber")
    if not lifted:
        return Outcome(ACCOUNT)
    rejoined = []
    for list_id in _lists_of_last_account_unsubscribe(holder):
        subscription = _subscription(holder, list_id)
        if can_resubscribe(subscription) and subscription.status == SubscriptionStatus.UNSUBSCRIBED:
            subscriptions.apply(subscription, "resubscribe")
            _record(holder, EventType.RESUBSCRIBED, list_id, context, scope=ACCOUNT)
            rejoined.append(list_id)
    _record(holder, EventType.RESUBSCRIBED, None, context, scope=ACCOUNT, lists=rejoined)
    return Outcome(ACCOUNT, rejoined, True)


def _lists_of_last_account_unsubscribe(holder: Holder) -> list[str]:
    events = db.session.scalars(select(ConsentEvent).where(
        ConsentEvent.contact_id == holder.contact.id, ConsentEvent.type == EventType.UNSUBSCRIBED,
        ConsentEvent.list_id.is_(None)).order_by(ConsentEvent.seq.desc()))
    for event in events:
        if (event.evidence or {}).get("scope") == ACCOUNT:
            return [str(item) for item in event.evidence.get("lists", [])]
    return []
