"""The preference centre: each list of the account with the token holder's own state, and changes.

Leaving a list happens at once. Joining or rejoining one never does: the link may have been
forwarded or minted by the customer, so ticking a list only mails the address a confirmation
link (:mod:`portal.preferences.operations.rejoin`), and the list starts when it is confirmed.
This module reads; saving the ticked lists is :func:`portal.preferences.operations.save`.

A list may be joined here when it is open for signup (at least one of the account's signup
forms offers it: the customer already lets anyone ask for it) or the person has been on it
before (confirmed, pending, declined, left). A list the person is suppressed from by a reason
that is not their own unsubscribe (a complaint, a bounce, the customer's or the platform's
entry) cannot be joined here: :attr:`ListState.refusal` says why.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from portal.extensions import db
from portal.subscriptions.holders import Holder
from portal.subscriptions.models import Form, MailingList, Subscription, SubscriptionStatus, form_lists
from portal.subscriptions.operations import can
from portal.suppression import operations as suppressions
from portal.suppression.models import SuppressionReason, SuppressionScope

SUBSCRIBED, PENDING, NOT_SUBSCRIBED = "subscribed", "pending", "not_subscribed"
#: Why a list that is off cannot be ticked: a complaint, another suppression, not open for signup.
COMPLAINED, BLOCKED, NOT_OPEN = "complained", "blocked", "not_open"


@dataclass
class ListState:
    """One list as the preference centre shows it."""

    mailing_list: MailingList
    state: str
    #: Whether ticking it may ask (by a confirmation mail) to join the list.
    can_join: bool
    #: Why a list that is off cannot be ticked (:data:`COMPLAINED`, :data:`BLOCKED`, :data:`NOT_OPEN`).
    refusal: str | None = None

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
    open_ids = open_for_signup(holder.account.id)
    return [_state(item, subs.get(item.id), entries, item.id in open_ids) for item in lists]


def open_for_signup(account_id: str) -> set[str]:
    """The ids of the account's lists that at least one of its signup forms offers."""
    return set(db.session.scalars(select(form_lists.c.list_id).join(Form, Form.id == form_lists.c.form_id)
                                  .where(Form.account_id == account_id)))


def _blocking(entries, list_id: str) -> list:
    return [e for e in entries if e.scope != SuppressionScope.LIST or e.list_id == list_id]


def _state(mailing_list: MailingList, subscription: Subscription | None, entries, open_: bool) -> ListState:
    blocking = _blocking(entries, mailing_list.id)
    status = subscription.status if subscription is not None else None
    if status == SubscriptionStatus.CONFIRMED and not blocking:
        state = SUBSCRIBED
    elif status == SubscriptionStatus.PENDING and _own(blocking):
        state = PENDING  # asked again after leaving: its confirmation lifts the person's own entries
    else:
        state = NOT_SUBSCRIBED
    refusal = _refusal(subscription, blocking, open_) if state == NOT_SUBSCRIBED else None
    return ListState(mailing_list, state, state == SUBSCRIBED or (state == NOT_SUBSCRIBED and refusal is None),
                     refusal)


def _refusal(subscription: Subscription | None, blocking, open_: bool) -> str | None:
    """Why the person may not ask to join this list here; None when they may."""
    if (subscription is not None and subscription.status == SubscriptionStatus.COMPLAINED) or any(
            e.reason == SuppressionReason.COMPLAINT for e in blocking):
        return COMPLAINED  # only the platform lifts a complaint, never this page
    if not can(subscription, "request") or not _own(blocking):
        return BLOCKED
    return None if open_ or subscription is not None else NOT_OPEN


def _own(blocking) -> bool:
    """Whether every entry is the person's own unsubscribe, which only their confirmation lifts
    (issue 14); a global entry is the platform's."""
    return all(e.reason == SuppressionReason.UNSUBSCRIBED and e.scope != SuppressionScope.GLOBAL for e in blocking)
