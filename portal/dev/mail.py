"""The dev inbox's reading of the outbox: each mail as the worker sends it."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from markupsafe import Markup
from sqlalchemy import select

from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.outbox.transport import render_bytes

#: How many mails the inbox lists.
LIMIT = 200
_LINK = re.compile(r"https?://[^\s<>\"']+")


@dataclass
class Mail:
    """One outbox mail as a reader sees it."""

    row: OutboxMessage
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def headers(self) -> list[tuple[str, str]]:
        """Every header, in order."""
        return [(name, str(value)) for name, value in self.message.items()]

    def part(self, subtype: str) -> str | None:
        """The text of the ``text/<subtype>`` part, or None."""
        body = self.message.get_body((subtype,))
        return body.get_content() if body is not None else None


def rendered(row: OutboxMessage) -> EmailMessage:
    """The MIME message the worker would send for ``row`` (the one place that reads a row's payload)."""
    _sender, data = render_bytes(row)
    return message_from_bytes(data, policy=policy.default)


def newest(limit: int = LIMIT) -> list[OutboxMessage]:
    """The outbox's mails, newest first."""
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "mail")
                                   .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                                   .limit(limit)))


def get(message_id: int) -> Mail | None:
    """One outbox mail, or None (a webhook call or no such row)."""
    row = db.session.get(OutboxMessage, message_id)
    if row is None or row.channel != "mail":
        return None
    return Mail(row, rendered(row))


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
