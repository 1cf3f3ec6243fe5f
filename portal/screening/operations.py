"""Screening a message for restricted content, and keeping what was flagged for the console."""
from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Account
from portal.db import utcnow
from portal.extensions import db
from portal.screening import lexicon
from portal.screening.models import FlaggedMessage

EXCERPT = 2000


@dataclass(frozen=True)
class RestrictedContent:
    """A message-check problem: ``restricted_content:<category>`` with the phrases matched.

    Its severity is ``review``: the screen flags for the compliance team, it never blocks.
    """

    code: str
    message: str
    phrases: tuple[str, ...]
    severity: str = "review"


def html_words(body: str) -> str:
    """The text of an HTML part for screening: tags dropped in one forward scan, entities decoded."""
    out, at = [], 0
    while True:
        start = body.find("<", at)
        if start < 0:
            out.append(body[at:])
            break
        out.append(body[at:start])
        end = body.find(">", start)
        if end < 0:
            break  # an unclosed tag: the rest is markup
        out.append(" ")
        at = end + 1
    return html.unescape("".join(out))


def _subject(headers: dict) -> str:
    for name, value in (headers or {}).items():
        if name.strip().lower() == "subject":
            return value if isinstance(value, str) else " ".join(value)
    return ""


def screen(account: Account, html_part: str | None, text_part: str | None, headers: dict) -> list[RestrictedContent]:
    """The restricted content of a message, one problem per category; a match is recorded."""
    subject = _subject(headers)
    text = "\n".join(part for part in (subject, html_words(html_part) if html_part else "", text_part or "") if part)
    matches = lexicon.load(current_app.config.get("PORTAL_RESTRICTED_LEXICON_PATH")).match(text)
    if not matches:
        return []
    record(account, subject, html_part, text_part, text, matches)
    return [RestrictedContent(f"restricted_content:{category}",
                              f"The message contains content our policy restricts ({category}): "
                              + ", ".join(phrases) + ". It is flagged for review.", tuple(phrases))
            for category, phrases in matches.items()]


def record(account: Account, subject: str, html_part: str | None, text_part: str | None, text: str,
           matches: dict[str, list[str]]) -> FlaggedMessage:
    """Keep the flagged message once per account and content; a repeat check is counted."""
    digest = hashlib.sha256("\0".join((subject, html_part or "", text_part or "")).encode()).hexdigest()
    existing = _flagged(account.id, digest)
    if existing is not None:
        existing.checks, existing.last_checked_at = existing.checks + 1, utcnow()
        db.session.flush()
        return existing
    row = FlaggedMessage(account_id=account.id, content_sha256=digest, matches=matches, subject=subject[:500] or None,
                         excerpt=text[:EXCERPT])
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # the same message, flagged by a concurrent check
        return _flagged(account.id, digest)
    return row


def _flagged(account_id: str, digest: str) -> FlaggedMessage | None:
    return db.session.scalars(select(FlaggedMessage).where(
        FlaggedMessage.account_id == account_id, FlaggedMessage.content_sha256 == digest)).first()
