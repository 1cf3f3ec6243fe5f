"""The dev inbox's reading of the outbox: each mail as it was sent, or as the worker would send it.

A mail's content has three possible origins. A sent mail is read from the ``.eml`` file the
outbox worker wrote (development has no MAIL_SERVER): exactly what left, even when its subject
has changed since (a re-permission mail whose person confirmed, or whose account was suspended).
A mail not sent yet, or whose file is gone, is rendered now from its row. And some mails can no
longer be rendered at all (a reference whose person left, an erased recipient): those are still
listed and shown, with the reason instead of the content.
"""
from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select

from portal.extensions import db
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.outbox.operations import MessageCancelled, render_message
from portal.outbox.transport import eml_name, outbox_dir, render_bytes

#: How many mails the inbox lists.
LIMIT = 200
_LINK = re.compile(r"https?://[^\s<>\"']+")

#: Where a shown mail's content comes from.
SENT_COPY = "sent"
RENDERED_NOW = "now"
#: Why an erased recipient's mail is not shown.
ERASED = "the recipient was erased: the mail's address and content are gone"


@dataclass
class Mail:
    """One outbox mail as a reader sees it: its message, or why there is none."""

    row: OutboxMessage
    message: EmailMessage | None
    #: ``SENT_COPY`` or ``RENDERED_NOW`` (None when there is no message).
    source: str | None = None
    #: Why the mail can no longer be rendered (None when it can).
    unavailable: str | None = None

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "") if self.message is not None else self.row.kind

    def headers(self) -> list[tuple[str, str]]:
        """Every header, in order."""
        return [(name, str(value)) for name, value in self.message.items()] if self.message is not None else []

    def part(self, subtype: str) -> str | None:
        """The text of the ``text/<subtype>`` part, or None."""
        body = self.message.get_body((subtype,)) if self.message is not None else None
        return body.get_content() if body is not None else None


@dataclass
class Entry:
    """One line of the inbox: the row and its subject, or why it has none."""

    row: OutboxMessage
    subject: str | None
    unavailable: str | None = None


def rendered(row: OutboxMessage) -> EmailMessage:
    """The MIME message the worker would send for ``row`` now (may raise what rendering raises)."""
    _sender, data = render_bytes(row)
    return message_from_bytes(data, policy=policy.default)


def sent_copy(row: OutboxMessage) -> EmailMessage | None:
    """The ``.eml`` file the outbox worker wrote for a sent ``row``, or None (not sent, or no file)."""
    message_id = (row.payload or {}).get("message_id")
    if row.status != OutboxStatus.SENT or not message_id:
        return None
    path = os.path.join(outbox_dir(), eml_name(message_id))
    try:
        with open(path, "rb") as eml:
            return message_from_bytes(eml.read(), policy=policy.default)
    except OSError:
        return None


def erased(row: OutboxMessage) -> bool:
    """Whether an erasure emptied the row (its recipient and content are gone for good)."""
    return bool((row.payload or {}).get("erased"))


def read(row: OutboxMessage) -> Mail:
    """``row`` as the dev inbox shows it: as sent, as rendered now, or why it cannot be rendered."""
    if erased(row):
        return Mail(row, None, unavailable=ERASED)
    copy = sent_copy(row)
    if copy is not None:
        return Mail(row, copy, SENT_COPY)
    try:
        return Mail(row, rendered(row), RENDERED_NOW)
    except MessageCancelled as cancelled:
        return Mail(row, None, unavailable=str(cancelled))
    except Exception as error:  # noqa: BLE001 - a development page says why, it never fails
        return Mail(row, None, unavailable=_failure(row, error))


def entry(row: OutboxMessage) -> Entry:
    """The inbox line of ``row``: a rendered mail's own subject, else its sent copy's, else rendered now."""
    if erased(row):
        return Entry(row, None, ERASED)
    subject = (row.payload or {}).get("subject")
    if subject:
        return Entry(row, subject)
    copy = sent_copy(row)
    if copy is not None:
        return Entry(row, str(copy["Subject"] or ""))
    try:
        return Entry(row, render_message(row).get("subject") or row.kind)
    except MessageCancelled as cancelled:
        return Entry(row, None, str(cancelled))
    except Exception as error:  # noqa: BLE001 - a development page says why, it never fails
        return Entry(row, None, _failure(row, error))


def _failure(row: OutboxMessage, error: Exception) -> str:
    reason = f"{type(error).__name__}: {error}"
    current_app.logger.warning("dev inbox: mail %s cannot be rendered: %s", row.id, reason)
    db.session.rollback()  # a failed read must not leave the page's session unusable
    return reason


def newest(limit: int = LIMIT) -> list[Entry]:
    """The outbox's mails, newest first, each with its subject or why it has none."""
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "mail")
                              .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                              .limit(limit)).all()
    return [entry(row) for row in rows]


def get(message_id: int) -> Mail | None:
    """One outbox mail, or None (a webhook call or no such row)."""
    row = db.session.get(OutboxMessage, message_id)
    if row is None or row.channel != "mail":
        return None
    return read(row)


def linkify(text: str) -> Markup:
    """Plain text as HTML with its links clickable."""
    pieces, last = [], 0
    for match in _LINK.finditer(text):
        url = html.escape(match.group(0))
        pieces += [html.escape(text[last:match.start()]), f'<a href="{url}">{url}</a>']
        last = match.end()
    return Markup("".join([*pieces, html.escape(text[last:])]))


def framed_html(body: str) -> str:
    """A mail's HTML for the sandboxed frame: its links open in the top window."""
    base = '<base target="_top">'
    head = re.search(r"<head[^>]*>", body, re.IGNORECASE)
    if head is None:
        return base + body
    return body[: head.end()] + base + body[head.end():]
