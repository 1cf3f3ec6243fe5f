"""Who an import must refuse because the person left: after an opt-out, only the person's own
completed double opt-in brings consent back, never a customer's file.

Two ways to have left everything of an account:

* every list: the person said no (unsubscribed, complained) and stayed on none of its lists.
  Only a confirmed subscription not opted out of counts as staying: a pending one (a signup
  anyone may post, a list ticked on a link the customer minted), a declined or a bounced one
  does not;
* everything at once ("everything from this sender", an erasure): that opt-out covers every list
  of the account, lists made later included. The person's later confirmation of some lists gives
  back those lists only (which an import cannot add them to anyway), so it is read from the
  suppression feed, kept by address hash: it holds for a new list and for the new contact an
  erased person becomes. Only an undo from the unsubscribe's own answer page takes it back.
"""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.subscriptions.models import Contact, Subscription, SubscriptionStatus
from portal.suppression.models import Suppression, SuppressionChange, SuppressionReason, SuppressionScope
from portal.suppression.operations import where_in

#: A person's own "no" to a list: unsubscribed, or complained.
_LEFT = (SubscriptionStatus.UNSUBSCRIBED, SubscriptionStatus.COMPLAINED)
#: List suppressions that are a person's own "no" to that list.
_LIST_OPT_OUTS = (SuppressionReason.UNSUBSCRIBED, SuppressionReason.COMPLAINT)
#: Account-wide suppressions that are the person's own "everything".
_ACCOUNT_OPT_OUTS = (SuppressionReason.UNSUBSCRIBED, SuppressionReason.ERASED)


def left_every_list(account_id: str, hashes: set[str]) -> set[str]:
    """The address hashes whose contact said no to the account and stayed confirmed on none of
    its lists."""
    if not hashes:
        return set()
    opted_out = _list_opt_outs(account_id, hashes)
    left, stayed = {hashed for hashed, _list_id in opted_out}, set()
    for hashed, list_id, status in _statuses(account_id, hashes):
        if status in _LEFT:
            left.add(hashed)
        elif status == SubscriptionStatus.CONFIRMED and (hashed, list_id) not in opted_out:
            stayed.add(hashed)
    return left - stayed


def _statuses(account_id: str, hashes: set[str]) -> list[tuple]:
    """(address hash, list id, status) of every subscription of the account's contacts."""
    rows = []
    for condition in where_in(Contact.email_hash, sorted(hashes)):
        rows += db.session.execute(
            select(Contact.email_hash, Subscription.list_id, Subscription.status)
            .join(Subscription, Subscription.contact_id == Contact.id)
            .where(condition, Contact.account_id == account_id)).all()
    return rows


def _list_opt_outs(account_id: str, hashes: set[str]) -> set[tuple[str, str]]:
    """(address hash, list id) of the person's own list suppressions in the account."""
    found = set()
    for condition in where_in(Suppression.email_hash, sorted(hashes)):
        found.update(db.session.execute(select(Suppression.email_hash, Suppression.list_id).where(
            condition, Suppression.account_id == account_id, Suppression.scope == SuppressionScope.LIST,
            Suppression.reason.in_(_LIST_OPT_OUTS))).all())
    return found


def left_everything(account_id: str, hashes: set[str]) -> set[str]:
    """The address hashes whose person once left everything of the account or was erased there,
    and did not undo it in time (feed order: the last word on each counts)."""
    gone: dict[str, bool] = {}
    for condition in where_in(SuppressionChange.email_hash, sorted(hashes)):
        changes = db.session.execute(
            select(SuppressionChange.email_hash, SuppressionChange.op, SuppressionChange.source)
            .where(condition, SuppressionChange.account_id == account_id,
                   SuppressionChange.scope == SuppressionScope.ACCOUNT,
                   SuppressionChange.reason.in_(_ACCOUNT_OPT_OUTS))
            .order_by(SuppressionChange.seq)).all()
        for hashed, op, source in changes:
            if op == "add":
                gone[hashed] = True
            elif (source or "").startswith("undo:"):
                gone[hashed] = False  # undone from the unsubscribe's own answer page, in time
    return {hashed for hashed, left in gone.items() if left}
