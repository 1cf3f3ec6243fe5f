"""Publishing privacy notice versions (an account's, or the platform's default) and reading them.

A version is never changed. Publishing one plans its notice mailing (:mod:`portal.notices.operations.mailing`):
every confirmed contact it concerns is mailed, ``PORTAL_NOTICE_MAILS_PER_MINUTE`` a minute, and
the version may take effect only ``PORTAL_NOTICE_LEAD_HOURS`` after the last mail is due (UU PDP
Art. 21(2): the person is told before a change takes effect). Nothing per contact happens here:
one count, one row for the version, one for its mailing.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Account
from portal.consent.notices import notice_document
from portal.consent.verify import notice_digest
from portal.db import isoformat, utcnow
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.notices.operations.mailing import recipients_count
from portal.notices.models import NoticeMailing, PrivacyNotice, owner_of


def _check_content(content: dict[str, dict[str, str | None]]) -> dict[str, dict[str, str | None]]:
    """Each locale known, with a URL (http or https, absolute), a text, or both."""
    locales = current_app.config["PORTAL_LOCALES"]
    checked = {}
    for locale, version in sorted(content.items()):
        if locale not in locales:
            raise ValidationFailed(f"content: unknown locale {locale!r} (one of {', '.join(locales)})",
                                   code="invalid_locale")
        url, text = version.get("url"), version.get("text")
        if not url and not text:
            raise ValidationFailed(f"content.{locale}: give its url, its text or both", code="empty_notice")
        if url is not None and not _absolute_http(url):
            raise ValidationFailed(f"content.{locale}.url must be an absolute http(s) URL", code="invalid_url")
        checked[locale] = {"url": url, "text": text}
    return checked


def _absolute_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in url)
    except ValueError:  # "http://[" and the like
        return False


def _utc(effective_at: datetime) -> datetime:
    try:
        return effective_at.astimezone(timezone.utc)
    except OverflowError:  # year 9999 at UTC-14 is past what a datetime holds
        raise ValidationFailed("effective_at is out of range", code="validation_failed") from None


def _earliest(recipients: int, now: datetime) -> tuple[datetime, datetime]:
    """When the last notice mail is due, and the earliest time the version may take effect."""
    config = current_app.config
    chunks = max(1, math.ceil(recipients / config["PORTAL_NOTICE_MAILS_PER_MINUTE"]))
    last = now + timedelta(minutes=chunks - 1)
    return last, last + timedelta(hours=config["PORTAL_NOTICE_LEAD_HOURS"])


def _next_version(owner: str) -> int:
    return (db.session.scalar(select(func.max(PrivacyNotice.version)).where(PrivacyNotice.owner == owner)) or 0) + 1


def publish(account: Account | None, *, effective_at: datetime, content: dict, published_by: str) -> PrivacyNotice:
    """A new version of ``account``'s notice (the platform's for None) and its planned mailing.

    :raises ValidationFailed: bad content, or ``effective_too_soon``: the version would take
        effect before its notice mails (and the lead after them) could reach everyone.
    """
    content, now, effective_at = _check_content(content), utcnow(), _utc(effective_at)
    recipients = recipients_count(account.id if account else None)
    last, earliest = _earliest(recipients, now)
    if effective_at < earliest:
        raise ValidationFailed(
            f"effective_at must be at or after {isoformat(earliest)}: {recipients} confirmed contacts are mailed "
            f"{current_app.config['PORTAL_NOTICE_MAILS_PER_MINUTE']} a minute (the last at {isoformat(last)}), "
            f"then PORTAL_NOTICE_LEAD_HOURS pass before it takes effect", code="effective_too_soon",
            details={"earliest": isoformat(earliest), "recipients": recipients})
    owner = owner_of(account.id if account else None)
    for attempt in range(3):
        notice = PrivacyNotice(owner=owner, account_id=account.id if account else None, version=_next_version(owner),
                               effective_at=effective_at, content=content, published_at=now, published_by=published_by)
        notice.sha256 = notice_digest(notice_document(notice))
        try:
            with db.session.begin_nested():
                db.session.add(notice)
            break
        except IntegrityError:  # another version of this owner was published at the same moment
            if attempt == 2:
                raise
    db.session.add(NoticeMailing(notice_id=notice.id, per_minute=current_app.config["PORTAL_NOTICE_MAILS_PER_MINUTE"],
                                 start_at=now, recipients=recipients))
    db.session.flush()
    return notice


def notices_of(account_id: str | None):
    """The query of an owner's versions (the platform's for None), oldest first."""
    return select(PrivacyNotice).where(PrivacyNotice.owner == owner_of(account_id))


def notice_url(notice: PrivacyNotice) -> str:
    """The version's public page (its text, its links), on the portal."""
    return f"{current_app.config['PORTAL_BASE_URL']}/privacy-notices/{notice.id}"


def _mailing(notice: PrivacyNotice) -> dict[str, Any] | None:
    mailing = db.session.scalar(select(NoticeMailing).where(NoticeMailing.notice_id == notice.id))
    if mailing is None:
        return None
    chunks = max(1, math.ceil(mailing.recipients / mailing.per_minute))
    return {"status": mailing.status, "recipients": mailing.recipients, "queued": mailing.queued,
            "per_minute": mailing.per_minute, "first_at": isoformat(mailing.start_at),
            "last_at": isoformat(mailing.start_at + timedelta(minutes=chunks - 1))}


def serialize(notice: PrivacyNotice) -> dict[str, Any]:
    """A version as the API answers it."""
    return {"id": notice.id, "account_id": notice.account_id, "version": notice.version,
            "effective_at": isoformat(notice.effective_at), "published_at": isoformat(notice.published_at),
            "published_by": notice.published_by, "content": notice.content, "sha256": notice.sha256,
            "url": notice_url(notice), "mailing": _mailing(notice)}
