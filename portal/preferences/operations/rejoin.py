"""Giving consent back after an opt-out: a fresh double opt-in mailed to the address.

A link can be forwarded, and the customer can mint the same links (``unsubscribe-links``), so
nothing on a token page re-subscribes anyone. Ticking a list in the preference centre, or asking
to undo an unsubscribe once its window is over, only queues a confirmation mail; the change
happens when that mail's button is pressed, recorded with that confirmation's evidence as
``resubscribed`` for a list the person had been confirmed on, ``confirmed`` for a list joined anew
(:func:`portal.signup.operations.confirm`).
"""
from __future__ import annotations

from sqlalchemy import select

from portal.consent.operations import record
from portal.consent.evidence import RequestEvidence
from portal.consent.models import EventType
from portal.extensions import db
from portal.subscriptions.holders import Holder
from portal.preferences.operations.unsubscribe import person
from portal.signup import operations as signup
from portal.subscriptions.models import MailingList, SignupRequest, Subscription
from portal.subscriptions.operations import apply, can, get_or_create_subscription, lock_contact
from portal.signup.operations import confirmations_sent_today


def request_rejoin(holder: Holder, list_ids: list[str], context: RequestEvidence, *, source: str,
                   locale: str) -> SignupRequest | None:
    """A signup request for ``list_ids`` (of the holder's account) and its confirmation mail.

    The lists become ``pending``; suppressions stay until the mail's button is pressed. None
    (nothing mailed) for an erased address, no list that may be asked for, or once the daily cap
    of confirmation mails is reached.
    """
    contact = holder.contact
    lock_contact(contact)
    lists = [item for item in (db.session.get(MailingList, list_id) for list_id in dict.fromkeys(list_ids))
             if item is not None and item.account_id == holder.account.id]
    wanted = [item for item in lists if can(_subscription(contact, item), "request")]
    if contact.email is None or not wanted or confirmations_sent_today(contact) >= _cap():
        return None
    request = SignupRequest(contact_id=contact.id, list_ids=[item.id for item in wanted], source=source,
                            evidence={"channel": context.source})
    db.session.add(request)
    db.session.flush()
    for mailing_list in wanted:
        subscription, _created = get_or_create_subscription(contact, mailing_list)
        apply(subscription, "request")
        subscription.signup_request_id = request.id
        record(EventType.SIGNUP_REQUESTED, contact=contact, source=source, list_id=mailing_list.id,
               ip=context.ip, user_agent=context.user_agent, message_ref=context.message_ref,
               evidence={"signup_request_id": request.id, "channel": context.source, "locale": locale},
               actor=person())
    db.session.flush()
    signup.queue_confirmation(request, locale=locale)
    return request


def _subscription(contact, mailing_list: MailingList) -> Subscription | None:
    return db.session.scalars(select(Subscription).where(
        Subscription.contact_id == contact.id, Subscription.list_id == mailing_list.id)).first()


def _cap() -> int:
    from flask import current_app

    return current_app.config["PORTAL_CONFIRMATIONS_PER_DAY"]
