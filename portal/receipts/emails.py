"""The confirmation's follow-up: a short "you are subscribed" mail with the receipt, the preference
centre and the unsubscribe links, in the person's language."""
from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from portal import links
from portal.accounts.models import Account
from portal.consent.models import ConsentEvent, EventType
from portal.extensions import db
from portal.outbox import identity
from portal.outbox.models import OutboxMessage
from portal.outbox.operations import enqueue_mail
from portal.receipts.operations import receipt_token
from portal.subscriptions.models import Contact, MailingList, SignupRequest

KIND = "subscribed"


def subscribed_context(account: Account, contact: Contact, lists: list[MailingList]) -> dict[str, Any]:
    """What ``templates/email/subscribed/`` shows: the lists, the receipt and every way out."""
    return {
        "account": account,
        "lists": lists,
        "receipt_url": f"{current_app.config['PORTAL_BASE_URL']}/receipts/{receipt_token(contact.id)}",
        "preferences_url": links.preferences_url(links.Target(contact.id)),
        "unsubscribe": [{"name": item.name, "list": item, "url": links.unsubscribe_url(links.Target(contact.id, item.id))}
                        for item in lists],
    }


def locale_of(request: SignupRequest, account: Account) -> str:
    """The language the person asked in: the page's locale their request recorded, else the account's."""
    events = db.session.scalars(select(ConsentEvent).where(
        ConsentEvent.contact_id == request.contact_id, ConsentEvent.type == EventType.SIGNUP_REQUESTED,
        ConsentEvent.list_id.in_(request.list_ids)).order_by(ConsentEvent.seq.desc()).limit(len(request.list_ids)))
    for event in events:
        evidence = event.evidence or {}
        if evidence.get("signup_request_id") == request.id and evidence.get("locale") in current_app.config["PORTAL_LOCALES"]:
            return evidence["locale"]
    return account.locale or "en"


def queue_subscribed(contact: Contact, lists: list[MailingList], request: SignupRequest) -> OutboxMessage | None:
    """Queue the follow-up of a confirmation (``PORTAL_SUBSCRIBED_MAIL``), in the caller's transaction."""
    if not current_app.config["PORTAL_SUBSCRIBED_MAIL"] or not lists or contact.email is None:
        return None
    account = db.session.get(Account, contact.account_id)
    context = subscribed_context(account, contact, lists)
    # One-click leaves these lists (the only list, or everything of the account when several).
    target = links.Target(contact.id, lists[0].id if len(lists) == 1 else None)
    headers = {"List-Unsubscribe": f"<{links.unsubscribe_url(target)}>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return enqueue_mail(KIND, to=contact.email, locale=locale_of(request, account), context=context,
                        account_id=account.id, headers=headers, sender=identity.for_account(account))
