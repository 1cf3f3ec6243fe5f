"""Request and response bodies of the unsubscribe-links, footer, message-check and inbound API."""
from __future__ import annotations

from pydantic import ConfigDict, Field

from portal.api import Schema

MAX_RECIPIENTS = 10_000


class RecipientIn(Schema):
    email: str = Field(min_length=1, max_length=320)
    #: The platform's id of the message (Message-ID); kept as the ledger's message reference.
    message_id: str | None = Field(default=None, max_length=998)


class LinksRequest(Schema):
    list_id: str = Field(min_length=1, max_length=32)
    recipients: list[RecipientIn] = Field(max_length=MAX_RECIPIENTS)


class HeadersOut(Schema):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    list_unsubscribe: str = Field(alias="List-Unsubscribe")
    list_unsubscribe_post: str = Field(alias="List-Unsubscribe-Post")


class RecipientLinks(Schema):
    email: str
    unsubscribe_url: str
    preferences_url: str
    complaint_url: str
    headers: HeadersOut


class LinksResponse(Schema):
    recipients: list[RecipientLinks]


class FooterOut(Schema):
    html: str
    text: str
    placeholders: list[str]


class MessageCheck(Schema):
    html: str | None = Field(default=None, max_length=5_000_000)
    text: str | None = Field(default=None, max_length=5_000_000)
    #: Header name -> value; a list of values stands for a header repeated.
    headers: dict[str, str | list[str]] = Field(default_factory=dict, max_length=500)


class ProblemOut(Schema):
    code: str
    message: str
    #: ``restricted_content:<category>`` only: the lexicon phrases the message matched.
    phrases: list[str] | None = None


class CheckResult(Schema):
    ok: bool
    problems: list[ProblemOut]


class InboundQuery(Schema):
    model_config = ConfigDict(extra="ignore")
    #: The envelope recipient (RCPT TO), when the receiving MTA passes it on.
    recipient: str | None = Field(default=None, max_length=1000)


class InboundResult(Schema):
    matched: bool
    #: ``unsubscribed``, ``already_unsubscribed`` or ``none``.
    action: str
    account_id: str | None
    list_id: str | None
