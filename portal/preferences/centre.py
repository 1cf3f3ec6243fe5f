"""The preference centre: each list of the account with the token holder's own state, and changes.

Leaving a list happens at once. Joining or rejoining one never does: the link may have been
forwarded or minted by the customer, so ticking a list only mails the address a confirmation
link (:mod:`portal.preferences.rejoin`), and the list starts when it is confirmed.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from portal.extensions import db
from portal.preferences import operations, rejoin
from portal.preferences.holders import Holder
from portal.preferences.operations import Context, Outcome
from portal.subscriptions.models import MailingList, Subscription, SubscriptionStatus
from portal.subscriptions.operations import can, lock_contact
from portal.suppression import operations as suppressions
from portal.suppression.models import SuppressionReason, SuppressionScope

SUBSCRIBED, PENDING, NOT_SUBSCRIBED = "subscribed", "pending", "not_subscribed"


@dataclass
class ListState:
    """One list as the preference centre shows it."""

    mailing_list: MailingList
    state: str
    #: Whether ticking it may ask (by a confirmation mail) to join the list.
    can_join: bool

    @property
    def on(self) -> bool:
        return self.state in (SUBSCRIBED, PENDING)


def states(holder: Holder) -> list[ListState]:
    """Every list of the holder's account, oldest first, with the holder's state on each."""
    lists = db.session.scalars(select(MailingList).where(MailingList.account_id == holder.account.id)
                               .order_by(MailingList.created_at, MailingList.id))
    subs = {sub.list_id: sub for sub in db.session.scalars(
        select(Subscription).where(Subscription.contact_id == holder.contact.id))}
    entries = (suppressions.entries_for(holder.contact.email, holder.account.id)
               if holder.contact.email else [])
    return [_state(item, subs.get(item.id), entries) for item in lists]


def _blocking(entries, list_id: str) -> list:
    return [e for e in entries if e.scope != SuppressionScope.LIST or e.list_id == list_id]


def _state(mailing_list: MailingList, subscription: Subscription | None, entries) -> ListState:
    blocking = _blocking(entries, mailing_list.id)
    status = subscription.status if subscription is not None else None
    if status == SubscriptionStatus.CONFIRMED and not blocking:
        state = SUBSCRIBED
    elif status == SubscriptionStatus.PENDING and not blocking:
        state = PENDING
    else:
        state = NOT_SUBSCRIBED
    liftable = all(e.reason == SuppressionReason.UNSUBSCRIBED and e.scope != SuppressionScope.GLOBAL
                   for e in blocking)
    return ListState(mailing_list, state, state == SUBSCRIBED or (
        state == NOT_SUBSCRIBED and can(subscription, "request") and liftable))


def save(holder: Holder, wanted: set[str], context: Context, *, locale: str) -> Outcome:
    """Make the holder's lists match ``wanted``: leave the unticked at once; for the ticked ones
    they may join, mail a confirmation link (``outcome.asked``)."""
    lock_contact(holder.contact)
    current = states(holder)
    outcome = Outcome("lists")
    for item in current:
        if item.on and item.mailing_list.id not in wanted:
            result = operations.unsubscribe_list(holder, item.mailing_list.id, context)
            outcome.lists += result.lists
            outcome.changed = outcome.changed or result.changed
    outcome.asked = [s.mailing_list.id for s in current if s.mailing_list.id in wanted and not s.on and s.can_join]
    if outcome.asked:
        rejoin.request_rejoin(holder, outcome.asked, context, source="preferences", locale=locale)
    return outcome
