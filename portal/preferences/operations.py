"""Unsubscribing from a list or from a whole account, undoing it, and saying why.

Only the person gives consent back: an unsubscribe is undone here only by the short-lived undo
token offered on its own answer page, bound to its ledger event (:func:`undo_token`); any other
way back is a fresh double opt-in (:mod:`portal.preferences.rejoin`). Every change writes the subscription state, the suppression entry and the ledger event in
the caller's transaction. A repeat that changes nothing writes nothing (idempotent).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from portal.consent import actors
from portal.consent import operations as ledger
from portal.consent.actors import Actor
from portal.consent.models import ConsentEvent, EventType
from portal.errors import TokenInvalid, ValidationFailed
from portal.extensions import db
from portal.webhooks import operations as webhooks
from portal.preferences.holders import Holder
from portal.subscriptions import operations as subscriptions
from portal.subscriptions.models import Subscription, SubscriptionStatus
from portal.suppression import operations as suppressions
from portal.suppression.models import SuppressionReason, SuppressionScope
from portal.tokens import load_token, make_token

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
    #: The last ledger event an unsubscribe wrote: what its undo token is bound to.
    event_id: int | None = None
    #: Lists asked for by a confirmation mail (nothing changes for them until it is confirmed).
    asked: list[str] = field(default_factory=list)


def unsubscribe(holder: Holder, scope: str, context: Context) -> Outcome:
    """Unsubscribe the holder from the token's list (``list``) or from every list (``account``)."""
    _check(scope, context)
    subscriptions.lock_contact(holder.contact)
    if scope == ACCOUNT or holder.mailing_list is None:
        return _unsubscribe_account(holder, context)
    return unsubscribe_list(holder, holder.mailing_list.id, context)


def undo_token(holder: Holder, outcome: Outcome) -> str | None:
    """The short-lived token (``PORTAL_UNDO_MAX_AGE``) that undoes this unsubscribe and no other;
    None when it changed nothing. Offered only on the unsubscribe's own answer page."""
    if outcome.event_id is None:
        return None
    return make_token("undo", [holder.contact.id, outcome.event_id])


#: Events after which an earlier unsubscribe can no longer be undone by its token.
_SUPERSEDING = (EventType.UNSUBSCRIBED, EventType.RESUBSCRIBED, EventType.COMPLAINED, EventType.ERASED,
                EventType.CONFIRMED)


def undoable_event(holder: Holder, token: str | None) -> ConsentEvent:
    """The unsubscribe event an undo token is bound to, while nothing has happened since.

    :raises TokenExpired: a genuine token whose window is over (its payload kept).
    :raises TokenInvalid: anything else: tampered, another person's, already undone or superseded.
    """
    event = _bound_event(holder, load_token("undo", token or ""))
    later = db.session.scalars(select(ConsentEvent.id).where(
        ConsentEvent.contact_id == holder.contact.id, ConsentEvent.seq > event.seq,
        ConsentEvent.type.in_(_SUPERSEDING)).limit(1)).first()
    if later is not None:
        raise TokenInvalid()
    return event


def _bound_event(holder: Holder, payload) -> ConsentEvent:
    if (not isinstance(payload, list) or len(payload) != 2 or payload[0] != holder.contact.id
            or not isinstance(payload[1], int)):
        raise TokenInvalid()
    event = db.session.get(ConsentEvent, payload[1])
    if event is None or event.contact_id != holder.contact.id or event.type != EventType.UNSUBSCRIBED:
        raise TokenInvalid()
    return event


def expired_undo_event(holder: Holder, token: str | None) -> ConsentEvent:
    """The event of an undo token whose window is over (to offer a confirmation mail instead)."""
    from portal.errors import TokenExpired

    try:
        load_token("undo", token or "")
    except TokenExpired as error:
        return _bound_event(holder, error.payload)
    raise TokenInvalid()


def lists_of(event: ConsentEvent) -> list[str]:
    """The lists an unsubscribe event ended: its own, or those an "everything" event names."""
    if event.list_id is not None:
        return [event.list_id]
    return [str(item) for item in (event.evidence or {}).get("lists", [])]


def undo(holder: Holder, event: ConsentEvent, context: Context) -> Outcome:
    """Undo one unsubscribe (checked by :func:`undoable_event`): lift what it added and rejoin
    the lists it ended that the person had confirmed before."""
    _check(LIST, context)
    subscriptions.lock_contact(holder.contact)
    if event.list_id is None:
        return _undo_account(holder, event, context)
    return resubscribe_list(holder, event.list_id, context, undo_of=event.id)


def record_reason(holder: Holder, reason: str, context: Context) -> ConsentEvent:
    """Keep the (optional) reason for an unsubscribe as a ledger event of its own."""
    if reason not in REASONS:
        raise ValidationFailed(f"unknown reason {reason!r}")
    return ledger.record(UNSUBSCRIBE_REASON, contact=holder.contact, source=context.source,
                         list_id=_list_id(holder), ip=context.ip, user_agent=context.user_agent,
                         message_ref=context.message_ref, evidence={"reason": reason}, actor=person())


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


def person() -> Actor:
    """Every change here is the person's own (a token page, their own mail); a mail relayed by
    the platform names the key that relayed it."""
    return Actor(actors.PERSON, actors.current().key_id)


def _record(holder: Holder, type_: str, list_id: str | None, context: Context, **evidence) -> ConsentEvent:
    if context.inbound_message_id:
        evidence["inbound_message_id"] = context.inbound_message_id[:500]
    event = ledger.record(type_, contact=holder.contact, source=context.source, list_id=list_id, ip=context.ip,
                          user_agent=context.user_agent, message_ref=context.message_ref, evidence=evidence,
                          actor=person())
    if type_ == EventType.UNSUBSCRIBED:
        webhooks.emit(holder.account.id, "unsubscribed", {"contact_id": holder.contact.id,
                                                          "email": holder.contact.email,
                                                          "list_id": list_id, "channel": context.source})
    return event


def unsubscribe_list(holder: Holder, list_id: str, context: Context) -> Outcome:
    """Leave one list: subscription ended (a pending one cancelled), list suppressed, event kept."""
    subscriptions.lock_contact(holder.contact)
    subscription = _subscription(holder, list_id)
    was = subscription.status if subscription is not None else None
    left = _leave(subscription)
    added = suppress(holder, SuppressionScope.LIST, list_id, context)
    outcome = Outcome(LIST, [list_id] if left else [], left or added)
    if outcome.changed:
        outcome.event_id = _record(holder, EventType.UNSUBSCRIBED, list_id, context, scope=LIST,
                                   previous_status=was).id
    return outcome


def _unsubscribe_account(holder: Holder, context: Context) -> Outcome:
    left = [sub.list_id for sub in _subscriptions_of(holder) if _leave(sub)]
    added = suppress(holder, SuppressionScope.ACCOUNT, None, context)
    for list_id in left:
        _record(holder, EventType.UNSUBSCRIBED, list_id, context, scope=ACCOUNT)
    event = None
    if added or left:
        # The account-wide event names the lists it ended, so that an undo restores those only.
        event = _record(holder, EventType.UNSUBSCRIBED, None, context, scope=ACCOUNT, lists=left)
    return Outcome(ACCOUNT, left, bool(left) or added, event.id if event else None)


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


def resubscribe_list(holder: Holder, list_id: str, context: Context, *, undo_of: int) -> Outcome:
    """Rejoin one list the person had confirmed before (the undo of event ``undo_of``)."""
    subscriptions.lock_contact(holder.contact)
    subscription = _subscription(holder, list_id)
    if not can_resubscribe(subscription):
        return Outcome(LIST)
    lifted = lift_own(holder, SuppressionScope.LIST, list_id, "undone by the subscriber")
    rejoined = (subscription.status != SubscriptionStatus.CONFIRMED
                and subscriptions.apply(subscription, "resubscribe"))
    outcome = Outcome(LIST, [list_id] if rejoined else [], lifted or rejoined)
    if outcome.changed:
        _record(holder, EventType.RESUBSCRIBED, list_id, context, scope=LIST, undo_of=undo_of)
    return outcome


def _undo_account(holder: Holder, event: ConsentEvent, context: Context) -> Outcome:
    lifted = lift_own(holder, SuppressionScope.ACCOUNT, None, "undone by the subscriber")
    rejoined = []
    for list_id in lists_of(event):
        subscription = _subscription(holder, list_id)
        if can_resubscribe(subscription) and subscription.status == SubscriptionStatus.UNSUBSCRIBED:
            subscriptions.apply(subscription, "resubscribe")
            _record(holder, EventType.RESUBSCRIBED, list_id, context, scope=ACCOUNT, undo_of=event.id)
            rejoined.append(list_id)
    if not (lifted or rejoined):
        return Outcome(ACCOUNT)
    _record(holder, EventType.RESUBSCRIBED, None, context, scope=ACCOUNT, lists=rejoined, undo_of=event.id)
    return Outcome(ACCOUNT, rejoined, True)
