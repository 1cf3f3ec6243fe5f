"""The preference centre: each list of the account with the token holder's own state, and changes.

Joining a list the person never confirmed needs a double opt-in (a signup request), so here
only lists they had confirmed before can be rejoined; the others are shown, not offered.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from portal.extensions import db
from portal.preferences import operations
from portal.preferences.holders import Holder
from portal.preferences.operations import Context, Outcome
from portal.subscriptions.models import MailingList, Subscription, SubscriptionStatus
from portal.subscriptions.operations import lock_contact
from portal.suppression import operations as suppressions
from portal.suppression.models import SuppressionReason, SuppressionScope

SUBSCRIBED, PENDING, NOT_SUBSCRIBED = "subscribed", "pending", "not_subscribed"


@dataclass
class ListState:
    """One list as the preference centre shows it."""

    mailing_list: MailingList
    state: str
    #: Whether ticking it may (re)join the list right here.
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
        operations.can_resubscribe(subscription) and liftable))


def save(holder: Holder, wanted: set[str], context: Context) -> Outcome:
    """Make the holder's lists match ``wanted``: leave the unticked, rejoin the ticked they may."""
    lock_contact(holder.contact)
    current = states(holder)
    outcome = Outcome("lists")
    joining = {s.mailing_list.id for s in current if s.mailing_list.id in wanted and not s.on and s.can_join}
    if joining:
        _split_account_unsubscribe(holder, current, wanted, context)
    for item in current:
        list_id = item.mailing_list.id
        if list_id in joining:
            result = operations.resubscribe_list(holder, list_id, context)
        elif item.on and list_id not in wanted:
            result = operations.unsubscribe_list(holder, list_id, context)
        else:
            continue
        outcome.lists += result.lists
        outcome.changed = outcome.changed or result.changed
    return outcome


def _split_account_unsubscribe(holder: Holder, current: list[ListState], wanted: set[str],
                               context: Context) -> None:
    """Turn an "everything" unsubscribe into one per list, so that chosen lists can be rejoined."""
    if not operations.lift_own(holder, SuppressionScope.ACCOUNT, None, "subscriber chose lists in the preference centre"):
        return
    for item in current:
        if item.mailing_list.id not in wanted:
            operations.suppress(holder, SuppressionScope.LIST, item.mailing_list.id, context)
