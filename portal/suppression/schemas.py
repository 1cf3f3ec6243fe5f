"""Request and response bodies of the suppression, send-check and deliveries API."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from portal.api import Schema

#: Most addresses one call may carry (SPEC section 4).
MAX_BATCH = 10_000

Email = Field(min_length=1, max_length=320)
Reason = Literal["unsubscribed", "complaint", "hard_bounce", "manual", "role_address", "invalid", "erased"]
SendReason = Literal["ok", "not_subscribed", "pending", "unsubscribed", "complained", "bounced", "suppressed",
                     "role_address", "stale", "account_suspended", "account_deactivated", "no_postal_address",
                     "invalid"]


class SuppressionAdd(Schema):
    reason: Reason = "manual"
    list_id: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=2000)


class SuppressionRemove(Schema):
    reason: str = Field(min_length=1, max_length=2000)
    list_id: str | None = Field(default=None, max_length=32)


class RemoveQuery(Schema):
    model_config = ConfigDict(extra="ignore")
    reason: str | None = Field(default=None, max_length=2000)
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
    emails: list[str] = Field(max_length=MAX_BATCH)


class CheckHit(Schema):
    email: str
    entries: list[EntryOut]


class CheckOut(Schema):
    checked: int
    suppressed: list[CheckHit]


class BulkEntry(Schema):
    email: str = Field(max_length=400)
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


class ChangePage(Schema):
    items: list[ChangeOut]
    next_cursor: str | None


class SendCheckIn(Schema):
    list_id: str = Field(min_length=1, max_length=32)
    emails: list[str] = Field(max_length=MAX_BATCH)


class SendResult(Schema):
    email: str
    eligible: bool
    reason: SendReason


class SendCheckOut(Schema):
    results: list[SendResult]


class DeliveryEventIn(Schema):
    email: str = Field(max_length=400)
    type: Literal["delivered", "hard_bounce", "soft_bounce"]
    at: datetime
    message_id: str = Field(min_length=1, max_length=500)


class DeliveriesIn(Schema):
    events: list[DeliveryEventIn] = Field(max_length=MAX_BATCH)


class DeliveriesOut(Schema):
    accepted: int
    duplicates: int
    invalid: int
    suppressed: int
