"""Send-check: may this account mail these addresses on this list? (SPEC sections 4 and 5)

A few set-based queries per call, whatever the number of addresses: suppressions, then
contacts joined to their subscription on the list.
"""
from __future__ import annotations

from datetime import datetime
from typing import Sequence

from flask import current_app
from sqlalchemy import select

from portal.accounts.models import Account
from portal.accounts.policy import sending_block
from portal.addresses import email_hash, is_role_address, try_normalise
from portal.db import utcnow
from portal.extensions import db
from portal.subscriptions.models import Contact, MailingList, Subscription, SubscriptionStatus
from portal.suppression.operations import entries_for_hashes, where_in

OK = "ok"
#: Subscription states that answer with their own name.
_STATE_REASONS = {
    SubscriptionStatus.PENDING: "pending",
    SubscriptionStatus.UNSUBSCRIBED: "unsubscribed",
    SubscriptionStatus.COMPLAINED: "complained",
    SubscriptionStatus.BOUNCED: "bounced",
    SubscriptionStatus.DECLINED: "not_subscribed",
}


def _subscriptions(account_id: str, list_id: str, hashes: Sequence[str]) -> dict[str, Subscription]:
    found: dict[str, Subscription] = {}
    for condition in where_in(Contact.email_hash, hashes):
        rows = db.session.execute(
            select(Contact.email_hash, Subscription)
            .join(Subscription, (Subscription.contact_id == Contact.id) & (Subscription.list_id == list_id))
            .where(Contact.account_id == account_id, condition))
        found.update({hashed: subscription for hashed, subscription in rows})
    return found


def _is_stale(subscription: Subscription, now: datetime) -> bool:
    moments = [m for m in (subscription.confirmed_at, subscription.last_contacted_at) if m is not None]
    return not moments or now - max(moments) > current_app.config["PORTAL_STALE_AFTER"]


def _reason(address: str | None, hashed: str | None, suppressed: set[str],
            subscriptions: dict[str, Subscription], now: datetime) -> str:
    if address is None:
        return "invalid"
    if hashed in suppressed:
        return "suppressed"
    subscription = subscriptions.get(hashed)
    if subscription is None:
        return "not_subscribed"
    if subscription.status != SubscriptionStatus.CONFIRMED:
        return _STATE_REASONS.get(subscription.status, "not_subscribed")
    if is_role_address(address):
        return "role_address"
    if _is_stale(subscription, now):
        return "stale"
    return OK


def send_check(account: Account, mailing_list: MailingList, emails: Sequence[str]) -> list[tuple[str, bool, str]]:
    """(email as given, eligible, reason) for each address, in order."""
    blocked = sending_block(account)
    if blocked:
        return [(email, False, blocked) for email in emails]
    addresses = [try_normalise(email) for email in emails]
    hashes = [email_hash(address) if address else None for address in addresses]
    known = sorted({hashed for hashed in hashes if hashed})
    suppressed = set(entries_for_hashes(known, account.id, mailing_list.id))
    subscriptions = _subscriptions(account.id, mailing_list.id, known)
    now = utcnow()
    results = []
    for email, address, hashed in zip(emails, addresses, hashes):
        reason = _reason(address, hashed, suppressed, subscriptions, now)
        results.append((email, reason == OK, reason))
    return results
