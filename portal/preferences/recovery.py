"""A way forward from an invalid or expired link: "send me a link to manage my subscriptions".

A person types an address; each account that holds it (only the one the broken link named,
when that is known) mails it a preference-centre link. The page answers the same whatever the
address: nothing is stored or mailed for an address no account holds, and the view answers no
sooner than a fixed time (``PORTAL_MANAGE_MIN_SECONDS``). This module reads the form's signed
value; the mails are queued by :func:`portal.preferences.operations.queue_links`.
"""
from __future__ import annotations

from portal import links
from portal.accounts.models import Account
from portal.extensions import db


def form_token(account: Account | None) -> str:
    """The signed value the form carries: the sender it names (verified), if any."""
    return links.manage_token(account.id if account is not None else None)


def sender_of(token: str) -> Account | None:
    """The account a form value names; None when it names none.

    :raises TokenInvalid: not a value this portal made.
    """
    account_id = links.load_manage(token)
    return db.session.get(Account, account_id) if account_id is not None else None
