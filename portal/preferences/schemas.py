"""Request and response bodies of the unsubscribe-links, footer, message-check and inbound API."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from portal.api import EMAIL, Address, MessageId, Schema

MAX_RECIPIENTS = 10_000
#: The message check's parts, in characters: far more than any mail (Gmail clips HTML past 102 KB),
#: and both at their cap, in ASCII, fit PORTAL_MESSAGE_CHECK_MAX_BYTES (4 MiB) with the headers.
MAX_PART = 1_000_000
#: A header value (unfolded: several lines of RFC 5322's 998), and the values of one repeated header.
MAX_HEADER_VALUE = 8_000
MAX_HEADER_REPEATS = 100

HeaderName = Annotated[str, Field(min_length=1, max_length=200)]
HeaderValue = Annotated[str, Field(max_length=MAX_HEADER_VALUE)]


class RecipientIn(Schema):
    #: Written into links, so an address that is not valid is refused (``invalid_email``).
    email: Address = Field(json_schema_extra=EMAIL)
    #: The platform's id of the message (Message-ID); kept as the ledger's message reference.
    message_id: MessageId | None = None


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
    html: str | None = Field(default=None, max_length=MAX_PART)
    text: str | None = Field(default=None, max_length=MAX_PART)
    #: Header name -> value; a list of values stands for a header repeated.
    headers: dict[HeaderName, HeaderValue | Annotated[list[HeaderValue], Field(max_length=MAX_HEADER_REPEATS)]] = \
        Field(default_factory=dict, max_length=500)


class ProblemOut(Schema):
    code: str
    message: str
    #: ``block`` (the message must not be sent as it is) or ``review`` (restricted content: a flag).
    severity: Literal["block", "review"]
    #: ``restricted_content:<category>`` only: the lexicon phrases the message matched.
    phrases: list[str] | None = None


class CheckResult(Schema):
    #: No blocking problem: the message may be sent (flags for review do not change it).
    ok: bool
    #: Restricted content was flagged for the compliance team's review.
    review: bool
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
