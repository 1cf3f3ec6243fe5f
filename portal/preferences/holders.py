"""Who a token names: the contact, their account and list, resolved or a uniform refusal."""
from __future__ import annotations

from dataclasses import dataclass

from portal import links
from portal.accounts.models import Account
from portal.errors import TokenInvalid
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
    """The holder of a token of ``purpose``.

    Tampered, foreign-purpose, unknown-contact, erased-contact and wrong-list tokens all raise the same
    :class:`TokenInvalid`, so that the answer tells nothing about which check failed.
    """
    target = links.load_target(purpose, token)
    return holder_of(target)


def holder_of(target: links.Target) -> Holder:
    """The holder of an already verified target; :class:`TokenInvalid` when it names nothing."""
    contact = db.session.get(Contact, target.contact_id)
    if contact is None:
        raise TokenInvalid()
    if contact.erased_at is not None:  # an erased person has no live links; the page names the sender
        raise TokenInvalid(account=db.session.get(Account, contact.account_id))
    mailing_list = None
    if target.list_id is not None:
        mailing_list = db.session.get(MailingList, target.list_id)
        if mailing_list is None or mailing_list.account_id != contact.account_id:
            raise TokenInvalid()
    account = db.session.get(Account, contact.account_id)
    return Holder(contact, account, mailing_list, target.message_ref)
