"""Unsubscribing from a list or from a whole account, and saying why.

Only the person gives consent back: an unsubscribe is undone only by the short-lived undo token
offered on its own answer page, which gives back exactly what that event changed
(:mod:`portal.preferences.operations.undo`); any other way back is a fresh double opt-in
(:mod:`portal.preferences.operations.rejoin`). Every change writes the subscription state, the suppression
entry and the ledger event in the caller's transaction. A repeat that changes nothing writes
nothing (idempotent).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from portal.consent import actors
from portal.consent.operations import record
from portal.consent.actors import Actor
from portal.consent.evidence import RequestEvidence
from portal.consent.models import ConsentEvent, EventType
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.webhooks import operations as webhooks
from portal.subscriptions.holders import Holder
from portal.subscriptions import operations as subscriptions
from portal.subscriptions.models import Subscription, SubscriptionStatus
from portal.suppression import operations as suppressions
from portal.suppression.models import Suppression, SuppressionReason, SuppressionScope

#: Where an unsubscribe came from (the ledger event's ``source``).
SOURCES = ("link", "one_click", "mailto", "preferences")
#: Ledger event type of the optional reason given after unsubscribing.
UNSUBSCRIBE_REASON = "unsubscribe_reason"
#: Reasons a person may pick (codes kept in the ledger; no free text, so no personal data).
REASONS = ("too_frequent", "not_relevant", "never_signed_up", "other")
LIST, ACCOUNT = "list", "account"


@dataclass
class PreferenceOutcome:
    """What an unsubscribe or undo did: the lists whose state changed, and whether anything did."""

    scope: str
    lists: list[str] = field(default_factory=list)
    changed: bool = False
    #: The last ledger event an unsubscribe wrote: what its undo token is bound to.
    event_id: int | None = None
    #: Lists asked for by a confirmation mail (nothing changes for them until it is confirmed).
    asked: list[str] = field(default_factory=list)
    #: Lists ticked but not asked for: today's confirmation mails to the address are used up.
    held: list[str] = field(default_factory=list)
    #: The confirmed lists this unsubscribe ended: what an undo may give back (none: no undo).
    restorable: list[str] = field(default_factory=list)


def unsubscribe(holder: Holder, scope: str, context: RequestEvidence) -> PreferenceOutcome:
    """Unsubscribe the holder from the token's list (``list``) or from every list (``account``)."""
    _check(scope, context)
    subscriptions.lock_contact(holder.contact)
    if scope == ACCOUNT or holder.mailing_list is None:
        return _unsubscribe_account(holder, context)
    return unsubscribe_list(holder, holder.mailing_list.id, context)


def record_reason(holder: Holder, reason: str, context: RequestEvidence) -> ConsentEvent:
    """Keep the (optional) reason for an unsubscribe as a ledger event of its own."""
    if reason not in REASONS:
        raise ValidationFailed(f"unknown reason {reason!r}")
    return record(UNSUBSCRIBE_REASON, contact=holder.contact, source=context.source,
                  list_id=_list_id(holder), ip=context.ip, user_agent=context.user_agent,
                  message_ref=context.message_ref, evidence={"reason": reason}, actor=person())


def _check(scope: str, context: RequestEvidence) -> None:
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


def suppress(holder: Holder, scope: str, list_id: str | None, context: RequestEvidence) -> Suppression | None:
    """Add the holder's ``unsubscribed`` suppression in one scope; None when it already was."""
    if holder.contact.email is None:
        return None  # erased: the erasure's own suppression already covers the address
    return suppressions.add(holder.contact.email, scope=scope, reason=SuppressionReason.UNSUBSCRIBED,
                            account_id=holder.account.id, list_id=list_id, source=f"unsubscribe:{context.source}",
                            channel=context.source)


def person() -> Actor:
    """Every change here is the person's own (a token page, their own mail); a mail relayed by
    the platform names the key that relayed it."""
    return actors.relayed_by_key()


def record_event(holder: Holder, type_: str, list_id: str | None, context: RequestEvidence, **evidence) -> ConsentEvent:
    """Write the person's ledger event (and the ``unsubscribed`` webhook of an unsubscribe)."""
    if context.inbound_message_id:
        evidence["inbound_message_id"] = context.inbound_message_id[:500]
    event = record(type_, contact=holder.contact, source=context.source, list_id=list_id, ip=context.ip,
                   user_agent=context.user_agent, message_ref=context.message_ref, evidence=evidence,
                   actor=person())
    if type_ == EventType.UNSUBSCRIBED:
        webhooks.emit(holder.account.id, "unsubscribed", {"contact_id": holder.contact.id,
                                                          "email": holder.contact.email,
                                                          "list_id": list_id, "channel": context.source})
    return event


def unsubscribe_list(holder: Holder, list_id: str, context: RequestEvidence) -> PreferenceOutcome:
    """Leave one list: subscription ended (a pending one cancelled), list suppressed, event kept."""
    subscriptions.lock_contact(holder.contact)
    subscription = _subscription(holder, list_id)
    was = subscription.status if subscription is not None else None
    left = _leave(subscription)
    entry = suppress(holder, SuppressionScope.LIST, list_id, context)
    outcome = PreferenceOutcome(LIST, [list_id] if left else [], left or entry is not None)
    if outcome.changed:
        outcome.restorable = [list_id] if left and was == SubscriptionStatus.CONFIRMED else []
        outcome.event_id = record_event(holder, EventType.UNSUBSCRIBED, list_id, context, scope=LIST,
                                        previous_status=was,
                                        restorable=_restorable(outcome.restorable, entry)).id
        suppressions.link(entry, outcome.event_id)
    return outcome


def _restorable(lists: list[str], entry: Suppression | None) -> dict:
    """What an undo of this event may give back, kept in its evidence: the confirmed lists it
    ended and the one suppression it added (by id), nothing else."""
    return {"lists": lists, "suppression_id": entry.id if entry is not None else None}


def restorable(event: ConsentEvent) -> tuple[list[str], int | None]:
    """What an undo of ``event`` may give back: (confirmed lists it ended, suppression it added),
    as :func:`_restorable` kept it. An event written before this was kept gives back nothing."""
    given = (event.evidence or {}).get("restorable") or {}
    suppression_id = given.get("suppression_id")
    return [str(item) for item in given.get("lists", [])], suppression_id if isinstance(suppression_id, int) else None


def _unsubscribe_account(holder: Holder, context: RequestEvidence) -> PreferenceOutcome:
    was = {sub.list_id: sub.status for sub in _subscriptions_of(holder)}
    left = [sub.list_id for sub in _subscriptions_of(holder) if _leave(sub)]
    entry = suppress(holder, SuppressionScope.ACCOUNT, None, context)
    for list_id in left:
        record_event(holder, EventType.UNSUBSCRIBED, list_id, context, scope=ACCOUNT, previous_status=was[list_id])
    outcome = PreferenceOutcome(ACCOUNT, left, bool(left) or entry is not None)
    if outcome.changed:
        # The account-wide event names what it changed, so that an undo gives back exactly that.
        outcome.restorable = [list_id for list_id in left if was[list_id] == SubscriptionStatus.CONFIRMED]
        outcome.event_id = record_event(holder, EventType.UNSUBSCRIBED, None, context, scope=ACCOUNT, lists=left,
                                        restorable=_restorable(outcome.restorable, entry)).id
        suppressions.link(entry, outcome.event_id)
    return outcome


def left_scope(holder: Holder) -> str | None:
    """Where the person stands for this link: ``account`` when they left everything from the
    sender, ``list`` when they left the link's list, None when they have not left (reads only)."""
    if holder.contact.email is None:
        return None
    if _unsubscribed(SuppressionScope.ACCOUNT, holder, None):
        return ACCOUNT
    if holder.mailing_list is None:
        return None
    subscription = _subscription(holder, holder.mailing_list.id)
    if ((subscription is not None and subscription.status == SubscriptionStatus.UNSUBSCRIBED)
            or _unsubscribed(SuppressionScope.LIST, holder, holder.mailing_list.id)):
        return LIST
    return None


def _unsubscribed(scope: str, holder: Holder, list_id: str | None) -> bool:
    entry = suppressions.find(holder.contact.email, scope=scope, account_id=holder.account.id, list_id=list_id)
    return entry is not None and entry.reason == SuppressionReason.UNSUBSCRIBED


def _subscriptions_of(holder: Holder) -> list[Subscription]:
    return list(db.session.scalars(select(Subscription).where(
        Subscription.contact_id == holder.contact.id).order_by(Subscription.id)))
