"""The subscription state machine: which transition may start from which state, applying one, and
the subscription a contact has (or gets) on a list."""
from __future__ import annotations

from sqlalchemy import select

from portal.db import utcnow
from portal.errors import Conflict
from portal.extensions import db
from portal.subscriptions.models import Contact, MailingList, Subscription, SubscriptionStatus


#: transition name -> (states it may start from, state it leads to, timestamp it sets).
TRANSITIONS: dict[str, tuple[frozenset[str | None], str, str | None]] = {
    "request": (frozenset({None, SubscriptionStatus.PENDING, SubscriptionStatus.UNSUBSCRIBED,
                           SubscriptionStatus.DECLINED, SubscriptionStatus.BOUNCED}),
                SubscriptionStatus.PENDING, "requested_at"),
    "confirm": (frozenset({SubscriptionStatus.PENDING}), SubscriptionStatus.CONFIRMED, "confirmed_at"),
    "decline": (frozenset({SubscriptionStatus.PENDING}), SubscriptionStatus.DECLINED, None),
    "unsubscribe": (frozenset({SubscriptionStatus.PENDING, SubscriptionStatus.CONFIRMED}),
                    SubscriptionStatus.UNSUBSCRIBED, "unsubscribed_at"),
    "resubscribe": (frozenset({SubscriptionStatus.UNSUBSCRIBED}), SubscriptionStatus.CONFIRMED, None),
    "complain": (frozenset({SubscriptionStatus.PENDING, SubscriptionStatus.CONFIRMED,
                            SubscriptionStatus.UNSUBSCRIBED}), SubscriptionStatus.COMPLAINED, None),
    "bounce": (frozenset({SubscriptionStatus.PENDING, SubscriptionStatus.CONFIRMED}),
               SubscriptionStatus.BOUNCED, None),
}


class TransitionRefused(Conflict):
    """The subscription is not in a state this transition starts from."""

    code = "invalid_transition"


def can(subscription: Subscription | None, transition: str) -> bool:
    """Whether ``transition`` may start from the subscription's state (None: no subscription)."""
    sources, _target, _stamp = TRANSITIONS[transition]
    return (subscription.status if subscription is not None else None) in sources


def apply(subscription: Subscription, transition: str, at=None) -> bool:
    """Move ``subscription`` along ``transition``; False when it already is in the target state.

    :raises TransitionRefused: when the current state does not allow it.
    """
    sources, target, stamp = TRANSITIONS[transition]
    if subscription.status == target and transition != "request":
        return False
    if subscription.status not in sources:
        raise TransitionRefused(f"cannot {transition} a {subscription.status} subscription")
    subscription.status = target
    if stamp:
        setattr(subscription, stamp, at or utcnow())
    if transition == "resubscribe":
        subscription.unsubscribed_at = None
    db.session.flush()
    return True


def get_or_create_subscription(contact: Contact, mailing_list: MailingList) -> tuple[Subscription, bool]:
    """The contact's subscription to the list, and whether it was just created (status None)."""
    subscription = db.session.scalars(select(Subscription).where(
        Subscription.contact_id == contact.id, Subscription.list_id == mailing_list.id)).first()
    if subscription is not None:
        return subscription, False
    subscription = Subscription(contact_id=contact.id, list_id=mailing_list.id, status=None)
    db.session.add(subscription)
    return subscription, True
