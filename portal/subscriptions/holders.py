"""Who a link names: the one resolver from a token to its holder, for every purpose.

Every refusal is the same :class:`TokenInvalid` (tampered, another purpose, an unknown contact,
an erased one, a list of another account), so that the answer tells nothing about which check
failed. Only a well-signed token naming an erased contact (or an expired one) names the sender
(``account``), so that the page can offer a way forward; the others, forgeries among them, name
no one. It lives here, below preferences, complaints, privacy and receipts (which all use it).
"""
from __future__ import annotations

from dataclasses import dataclass

from portal import links
from portal.accounts.models import Account
from portal.errors import TokenExpired, TokenInvalid
from portal.extensions import db
from portal.subscriptions.models import Contact, MailingList


@dataclass(frozen=True)
class Holder:
    """The person a link belongs to: the URL is their credential."""

    contact: Contact
    account: Account
    mailing_list: MailingList | None
    message_ref: str | None = None


def resolve(purpose: str, token: str) -> Holder:
    """The holder of a token of ``purpose`` (any of :func:`portal.links.load_target`'s).

    :raises TokenExpired: a timed purpose's token that is too old (naming the sender when known).
    :raises TokenInvalid: anything else; see the module's docstring.
    """
    try:
        target = links.load_target(purpose, token)
    except TokenExpired as error:
        raise TokenExpired(payload=error.payload, account=_sender(error.payload)) from None
    return holder_of(target)


def holder_of(target: links.Target) -> Holder:
    """The holder of an already verified target; :class:`TokenInvalid` when it names nothing."""
    contact = db.session.get(Contact, target.contact_id)
    if contact is None:
        raise TokenInvalid()
    account = db.session.get(Account, contact.account_id)
    if contact.erased_at is not None:  # an erased person has no live links; the page names the sender
        raise TokenInvalid(account=account)
    mailing_list = None
    if target.list_id is not None:
        mailing_list = db.session.get(MailingList, target.list_id)
        if mailing_list is None or mailing_list.account_id != contact.account_id:
            raise TokenInvalid()  # a forgery's answer: it names no one (STANDARDS I-16)
    return Holder(contact, account, mailing_list, target.message_ref)


def erased_sender(purpose: str, token: str) -> Account | None:
    """The account of the erased contact a valid token of ``purpose`` names; None when the contact
    is not erased (its link still works: :func:`resolve` it).

    Asked by name, not read off a refusal: a :class:`TokenExpired` names its sender too, and an
    expired link erased no one.

    :raises TokenExpired: the token is too old. :raises TokenInvalid: tampered, another purpose, no one.
    """
    contact = db.session.get(Contact, links.load_target(purpose, token).contact_id)
    if contact is None:
        raise TokenInvalid()
    return db.session.get(Account, contact.account_id) if contact.erased_at is not None else None


def _sender(target: links.Target | None) -> Account | None:
    """The account of the contact an expired token named, if it still exists."""
    contact = db.session.get(Contact, target.contact_id) if isinstance(target, links.Target) else None
    return db.session.get(Account, contact.account_id) if contact is not None else None
