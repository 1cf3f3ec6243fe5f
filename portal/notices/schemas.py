"""Request and response bodies of the privacy notices API."""
from __future__ import annotations

from pydantic import AwareDatetime, Field

from portal.api import Schema
from portal.config import Config

#: Longest text of one locale (a longer notice: publish its URL). Fits the API's body limit.
MAX_TEXT = 30_000


class NoticeVersionContent(Schema):
    """One locale of a notice: where it is published, its words, or both."""

    url: str | None = Field(default=None, max_length=2000, description="An https:// (or http://) URL")
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)


class NoticeIn(Schema):
    #: When the version takes effect: after its last notice mail plus PORTAL_NOTICE_LEAD_HOURS.
    effective_at: AwareDatetime
    #: locale (``en``, ``id``) -> {"url", "text"}, at least one locale.
    content: dict[str, NoticeVersionContent] = Field(min_length=1, max_length=2,
                                                     json_schema_extra={"propertyNames": {"enum": list(Config.PORTAL_LOCALES)}})


class MailingOut(Schema):
    status: str
    recipients: int
    queued: int
    per_minute: int
    first_at: str
    last_at: str


class NoticeOut(Schema):
    id: int
    account_id: str | None
    version: int
    effective_at: str
    published_at: str
    published_by: str
    content: dict
    sha256: str
    url: str
    mailing: MailingOut | None


class NoticePage(Schema):
    items: list[NoticeOut]
    next_cursor: str | None
