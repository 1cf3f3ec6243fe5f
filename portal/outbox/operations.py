"""Writing messages to the outbox, in the caller's transaction, and rendering them.

A mail is stored either rendered (``payload`` holds subject, text and HTML) or as a reference
(``context`` holds ids; its kind's context loader turns them into the template's context when
the mail is sent): big imports store references, so that nothing is rendered in the import.
:func:`render_message` is the one way from a row to its message, for the worker and any reader.

This module is the only writer of outbox rows: :func:`enqueue_mail` (one rendered mail),
:func:`enqueue_many` (references in bulk) and :func:`enqueue_webhook`; each mail's Message-ID is
made here, in :func:`_mail_payload`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Iterable, NamedTuple

from flask import render_template
from flask_babel import force_locale

from portal.bulk import write_rows
from portal.db import utcnow
from portal.extensions import db
from portal.outbox import identity
from portal.outbox.models import OutboxMessage, OutboxStatus


def render_mail(kind: str, locale: str, context: dict[str, Any]) -> dict[str, str]:
    """Subject, text and HTML of the template set ``templates/email/<kind>/`` in ``locale``."""
    with force_locale(locale):
        return {
            "subject": " ".join(render_template(f"email/{kind}/subject.txt", **context).split()),
            "text": render_template(f"email/{kind}/body.txt", **context),
            "html": render_template(f"email/{kind}/body.html", **context),
        }


#: kind -> function(context of the row) -> the template's context (see :func:`context_loader`).
_LOADERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}


class MessageCancelled(Exception):
    """A referenced mail no longer applies (its subscription changed): it is never sent."""


def context_loader(kind: str):
    """Register the function that turns a reference's ``context`` into kind's template context.

    It may raise :class:`MessageCancelled` when the mail should not leave any more.
    """
    def register(function):
        _LOADERS[kind] = function
        return function
    return register


#: Functions the worker runs before each pass (see :func:`producer`).
_PRODUCERS: list[Callable[[Any], int]] = []


def producer(function):
    """Register a function the worker calls with the time before each pass, to put into the outbox
    what falls due (a paced mailing's next chunk). It flushes; the worker commits. The outbox stays
    a leaf: it calls what registered, and imports nothing."""
    _PRODUCERS.append(function)
    return function


def produce(now=None) -> int:
    """Run every registered producer; how many batches they released."""
    return sum(function(now) for function in _PRODUCERS)


#: Functions the worker runs when a mail whose context names a ledger event has left (see :func:`on_sent`).
_SENT_HOOKS: list[Callable[[int, dict[str, Any], str | None], None]] = []


def on_sent(function):
    """Register a function the worker calls, in the transaction that marks a mail sent, with the
    message id, the ``ledger`` entry of its context and its Message-ID: the domain that queued the
    mail records it in the ledger. The outbox stays a leaf: it calls what registered."""
    _SENT_HOOKS.append(function)
    return function


def sent(message_id: int, ledger: dict[str, Any], message_ref: str | None) -> None:
    """Run every :func:`on_sent` hook for a mail that left."""
    for function in _SENT_HOOKS:
        function(message_id, ledger, message_ref)


def render_message(message: OutboxMessage) -> dict[str, Any]:
    """A mail row's message: subject, text, html, headers, message_id (rendered now if a reference).

    :raises MessageCancelled: a reference whose mail no longer applies.
    """
    payload = dict(message.payload or {})
    if message.context is not None:
        template_context = _LOADERS[message.kind](message.context)
        payload.update(render_mail(message.kind, payload.get("locale") or "en", template_context))
    return payload


def enqueue_mail(kind: str, *, to: str, locale: str = "en", context: dict[str, Any],
                 account_id: str | None = None, headers: dict[str, str] | None = None,
                 sender: dict[str, Any] | None = None) -> OutboxMessage:
    """Render a mail now and store it for the worker (flushes; leaves with the caller's commit).

    :param headers: extra headers (List-Unsubscribe...); values must not hold CR or LF.
    :param sender: :func:`identity.on_behalf_of` an account, or :func:`identity.platform` (the default).
    """
    for name, value in (headers or {}).items():
        if any(c in f"{name}{value}" for c in "\r\n"):
            raise ValueError("header injection refused")
    payload = render_mail(kind, locale, context)
    payload.update(_mail_payload(locale, sender or identity.platform(), headers or {}))
    message = OutboxMessage(channel="mail", kind=kind, recipient=to, payload=payload, account_id=account_id)
    db.session.add(message)
    db.session.flush()
    return message


def _mail_payload(locale: str, sender: dict[str, Any], headers: dict[str, str],
                  domain: str | None = None) -> dict[str, Any]:
    """What every mail row's payload holds besides its rendered text: a new Message-ID among them."""
    return {"headers": headers, "message_id": identity.message_id(domain), "locale": locale, "sender": sender}


class Reference(NamedTuple):
    """One mail of :func:`enqueue_many`: ids its kind's context loader reads when it is sent."""

    to: str
    account_id: str | None
    #: What the context loader needs (ids; ``ledger``: the event to record when it leaves).
    context: dict[str, Any]
    locale: str
    #: :func:`identity.for_account` or :func:`identity.platform`.
    sender: dict[str, Any]
    #: When it may leave at the earliest (a paced mailing spreads these out).
    send_at: datetime


def enqueue_many(kind: str, mails: Iterable[Reference]) -> int:
    """Store mails of ``kind`` as references in one bulk insert (COPY on PostgreSQL), none rendered
    now (see :func:`context_loader`); how many. Runs in the caller's transaction, adds no ORM objects."""
    now, domain = utcnow(), identity.sending_domain()
    rows = [{"channel": "mail", "kind": kind, "account_id": mail.account_id, "recipient": mail.to,
             "payload": _mail_payload(mail.locale, mail.sender, {}, domain), "context": mail.context,
             "status": OutboxStatus.PENDING, "attempts": 0, "next_attempt_at": mail.send_at, "created_at": now}
            for mail in mails]
    write_rows(OutboxMessage.__table__, rows)
    return len(rows)


def enqueue_webhook(account_id: str, *, url: str, event: str, body: str, headers: dict[str, str]) -> OutboxMessage:
    """Store a signed webhook call (``body`` and its ``headers``, made by the caller) for the worker."""
    message = OutboxMessage(channel="webhook", kind=event, recipient=url, account_id=account_id,
                            payload={"body": body, "headers": headers})
    db.session.add(message)
    return message
