"""The subscription domain's mail: each a named template set plus the function giving its context."""
from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from flask import current_app

from portal import links
from portal.accounts.models import Account
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.outbox.operations import enqueue_mail
from portal.subscriptions.models import Contact, Form, MailingList, SignupRequest


def confirmation_context(account: Account, lists: list[MailingList], request: SignupRequest,
                         form: Form | None) -> dict[str, Any]:
    """What ``templates/email/confirmation/`` shows: who asks, for what, where, and the link."""
    page = (request.evidence or {}).get("page_host")
    return {
        "account": account,
        "lists": lists,
        "form_name": form.name if form else None,
        "page_host": page,
        "confirm_url": links.confirm_url(request.id),
        "max_age_days": max(1, current_app.config["PORTAL_CONFIRM_MAX_AGE"].days),
    }


def send_confirmation(contact: Contact, lists: list[MailingList], request: SignupRequest, *,
                      form: Form | None, locale: str) -> OutboxMessage:
    """Queue the double-opt-in mail of ``request`` to ``contact`` (in the caller's transaction)."""
    account = db.session.get(Account, contact.account_id)
    context = confirmation_context(account, lists, request, form)
    return enqueue_mail("confirmation", to=contact.email, locale=locale, context=context, account_id=account.id)


def digest(message: OutboxMessage) -> str:
    """SHA-256 of the rendered text part: the ledger keeps it as proof of what was sent."""
    return hashlib.sha256(message.payload["text"].encode("utf-8")).hexdigest()


def host_of(url: str | None) -> str | None:
    """The host name of a page URL, for the mail's "you asked on ..." line."""
    try:
        return urlsplit(url).hostname if url else None
    except ValueError:
        return None
