"""Contacts: finding them, creating them (once, under concurrent signups), retiring an erased one's
address, and the row lock every change of a person's subscriptions takes."""
from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Account
from portal.addresses import email_hash, normalise
from portal.extensions import db
from portal.subscriptions.models import Contact


def find_contact(account_id: str, address: str) -> Contact | None:
    """The account's contact for ``address`` (any case), or None."""
    return db.session.scalars(select(Contact).where(
        Contact.account_id == account_id, Contact.email_hash == email_hash(address))).first()


def get_or_create_contact(account: Account, address: str, *, name: str | None = None) -> Contact:
    """The account's contact for ``address``, created when new (flushes).

    A contact whose personal data was purged gets the address back: the caller has just been
    given it again (an erased contact is first retired by :func:`retire_erased`).
    Two requests creating the same contact at once: the loser's insert fails on the unique
    constraint inside a savepoint, and it takes the winner's row instead of failing.
    """
    normalised = normalise(address)
    contact = find_contact(account.id, normalised)
    if contact is None:
        try:
            with db.session.begin_nested():
                contact = Contact(account_id=account.id, email=normalised, email_hash=email_hash(normalised),
                                  name=name or None)
                db.session.add(contact)
        except IntegrityError:
            contact = find_contact(account.id, normalised)
            if contact is None:
                raise
    elif contact.email is None:
        contact.email, contact.name = normalised, name or None
        db.session.flush()
    return contact


def retire_erased(contact: Contact) -> None:
    """Free an erased contact's address for a new contact (the person signs up again).

    The erased row keeps its id, its redacted ledger chain and its dead links; only its hash
    changes (to one no address gives), so that the new signup is a new contact with new links.
    """
    contact.email_hash = hashlib.sha256(f"retired\0{contact.id}\0{contact.email_hash}".encode()).hexdigest()
    db.session.flush()


def lock_contact(contact: Contact) -> None:
    """Take ``contact``'s row lock until commit, and forget what was read before it.

    Every change of a person's subscriptions takes it first, so that the same link clicked
    many times at once makes one change and one ledger event (PostgreSQL; SQLite has one writer).
    """
    db.session.flush()
    db.session.execute(select(Contact.id).where(Contact.id == contact.id).with_for_update())
    db.session.expire_all()
