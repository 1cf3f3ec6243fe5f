"""Mailing a preference-centre link from each account that holds an address (the way forward
from an invalid or expired link: :mod:`portal.preferences.recovery`).
"""
from __future__ import annotations

from sqlalchemy import select

from portal import links
from portal.accounts.models import Account, AccountStatus
from portal.addresses import email_hash, normalise
from portal.extensions import db
from portal.outbox import identity
from portal.outbox.models import OutboxMessage
from portal.outbox.operations import enqueue_mail
from portal.subscriptions.models import Contact

#: At most this many accounts' links are mailed for one request (one mail each).
MAX_ACCOUNTS = 10
#: Accounts whose mail is withheld: they send nothing, this link included.
_SILENT = (AccountStatus.SUSPENDED, AccountStatus.DEACTIVATED)


def _contacts(address: str, account: Account | None) -> list[Contact]:
    query = select(Contact).where(Contact.email_hash == email_hash(address), Contact.erased_at.is_(None),
                                  Contact.email.is_not(None))
    if account is not None:
        query = query.where(Contact.account_id == account.id)
    return list(db.session.scalars(query.order_by(Contact.id).limit(MAX_ACCOUNTS)))


def queue_links(email: str, account: Account | None, *, locale: str) -> list[OutboxMessage]:
    """Queue a preference-centre link to ``email`` from each account that holds it (or ``account``).

    :raises InvalidAddress: the address is not valid (an answer that depends on the text only).
    """
    address = normalise(email)
    messages = []
    for contact in _contacts(address, account):
        sender = contact.account
        if sender.status in _SILENT:
            continue
        context = {"account": sender, "address": contact.email,
                   "preferences_url": links.preferences_url(links.Target(contact.id))}
        messages.append(enqueue_mail("manage_links", to=contact.email, locale=locale, context=context,
                                     account_id=sender.id, sender=identity.for_account(sender)))
    return messages
