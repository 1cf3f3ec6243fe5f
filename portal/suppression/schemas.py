"""Request and response bodies of the suppression, send-check and deliveries API."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field

from portal.api import Address, MessageId, Schema

#: Most addresses one call may carry (SPEC section 4).
MAX_BATCH = 10_000


def _short_time(value):
    """A time as sent: an ISO 8601 string of 40 characters at most (more digits of a second say nothing)."""
    if isinstance(value, str) and len(value) > 40:
        raise ValueError("at most 40 characters (an ISO 8601 time, like 2026-01-31T00:00:00Z)")
    return value


#: When a delivery event happened: its cap keeps a batch of them within the batch limit.
EventTime = Annotated[datetime, BeforeValidator(_short_time), Field(json_schema_extra={"maxLength": 40})]
Reason = Literal["unsubscribed", "complaint", "hard_bounce", "manual", "role_address", "invalid", "erased"]
SendReason = Literal["ok", "not_subscribed", "pending", "unsubscribed", "complained", "bounced", "suppressed",
                     "role_address", "stale", "account_suspended", "account_deactivated", "no_postal_address",
                     "invalid"]


class SuppressionAdd(Schema):
    reason: Reason = "manual"
    list_id: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=2000)


class SuppressionRemove(Schema):
    reason: str = Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*[^\s\x00][^\x00]*$")
    list_id: str | None = Field(default=None, max_length=32)


class RemoveQuery(Schema):
    #: The document says ``reason`` is required: it is, here or in the JSON body (SuppressionRemove),
    #: and an OpenAPI document cannot say "one of the two".
    model_config = ConfigDict(extra="ignore", json_schema_extra={"required": ["reason"]})
    reason: str | None = Field(default=None, max_length=2000, pattern=r"^[^\x00]*[^\s\x00][^\x00]*$",
                               description="Why the suppression is lifted (or in a JSON body: {\"reason\", \"list_id\"}).")
    list_id: str | None = Field(default=None, max_length=32)


class EntryOut(Schema):
    scope: Literal["global", "account", "list"]
    list_id: str | None
    reason: str
    created_at: str


class LookupOut(Schema):
    email: str
    suppressed: bool
    entries: list[EntryOut]


class CheckIn(Schema):
    emails: list[Address] = Field(max_length=MAX_BATCH)


class CheckHit(Schema):
    email: str
    entries: list[EntryOut]


class CheckOut(Schema):
    checked: int
    suppressed: list[CheckHit]


class BulkEntry(Schema):
    email: Address
    reason: Reason = "manual"
    list_id: str | None = Field(default=None, max_length=32)


class BulkIn(Schema):
    entries: list[BulkEntry] = Field(max_length=MAX_BATCH)


class BulkOut(Schema):
    added: int
    already: int
    invalid: int
    #: Indexes (in ``entries``) of the addresses that are not valid.
    invalid_indexes: list[int]


class ChangeOut(Schema):
    seq: int
    op: Literal["add", "remove"]
    email: str | None
    email_hash: str
    scope: Literal["global", "account", "list"]
    list_id: str | None
    reason: str
    at: str
    #: How it came about: one_click, link, mailto, preferences, undo, confirmation, web_complaint,
    #: fbl_complaint, bounce, erasure or api; null on changes from before it was kept.
    channel: str | None = None
    #: The ledger event that caused it (null when none did, or from before it was kept).
    ledger_event_id: int | None = None


class ChangePage(Schema):
    items: list[ChangeOut]
    next_cursor: str | None


class SendCheckIn(Schema):
    list_id: str = Field(min_length=1, max_length=32)
    emails: list[Address] = Field(max_length=MAX_BATCH)


class SendResult(Schema):
    email: str
    eligible: bool
    reason: SendReason


class SendCheckOut(Schema):
    results: list[SendResult]


class DeliveryEventIn(Schema):
    email: Address
    type: Literal["delivered", "hard_bounce", "soft_bounce"]
    at: EventTime
    message_id: MessageId = Field(min_length=1)


class DeliveriesIn(Schema):
    events: list[DeliveryEventIn] = Field(max_length=MAX_BATCH)


class DeliveriesOut(Schema):
    accepted: int
    duplicates: int
    invalid: int
    suppressed: int
