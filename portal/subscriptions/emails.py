"""The subscription domain's mail: each a named template set plus the function giving its context."""
from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from portal import links
from portal.accounts.models import Account
from portal.extensions import db
from portal.outbox import identity
from portal.outbox.models import OutboxMessage
from portal.outbox.operations import enqueue_mail
from portal.subscriptions.models import ConsentText, Contact, MailingList, SignupRequest


def confirmation_context(account: Account, contact: Contact, lists: list[MailingList],
                         request: SignupRequest) -> dict[str, Any]:
    """What ``templates/email/confirmation/`` shows: who asks, which address, when, on which
    trusted site (the host of a page on the form's allowed origins, never a raw Referer), for
    what, the consent text the request recorded (in the language the page showed it), and the link."""
    return {
        "account": account,
        "lists": lists,
        "address": contact.email,
        "requested_at": request.created_at,
        "page_host": _site(request),
        "consent_text": db.session.get(ConsentText, request.consent_text_id) if request.consent_text_id else None,
        "confirm_url": links.confirm_url(request.id),
        "max_age_days": max(1, current_app.config["PORTAL_CONFIRM_MAX_AGE"].days),
    }


def queue_confirmation(contact: Contact, lists: list[MailingList], request: SignupRequest, *,
                       locale: str) -> OutboxMessage:
    """Queue the double-opt-in mail of ``request`` to ``contact`` (in the caller's transaction)."""
    account = db.session.get(Account, contact.account_id)
    context = confirmation_context(account, contact, lists, request)
    return enqueue_mail("confirmation", to=contact.email, locale=locale, context=context, account_id=account.id,
                        sender=identity.for_account(account))


def digest(message: OutboxMessage) -> str:
    """SHA-256 of the rendered text part: the ledger keeps it as proof of what was sent."""
    return hashlib.sha256(message.payload["text"].encode("utf-8")).hexdigest()


def _site(request: SignupRequest) -> str | None:
    """The host of the customer's page the request came from (kept only when on the form's allowed
    origins or its hosted page); None for the portal's own hosted page, which is not their site."""
    host = (request.evidence or {}).get("page_host")
    return None if host == host_of(current_app.config["PORTAL_BASE_URL"]) else host


def host_of(url: str | None) -> str | None:
    """The host name of a page URL, for the mail's "you asked on ..." line."""
    try:
        return urlsplit(url).hostname if url else None
    except ValueError:
        return None
