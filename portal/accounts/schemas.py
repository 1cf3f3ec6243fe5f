"""Request and response bodies of the accounts API."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from portal.api import Schema

Locale = Literal["en", "id"]


class AccountCreate(Schema):
    name: str = Field(min_length=1, max_length=200)
    postal_address: str = Field(min_length=1, max_length=1000)
    contact_email: str = Field(min_length=3, max_length=320)
    locale: Locale = "en"


class AccountUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    postal_address: str | None = Field(default=None, min_length=1, max_length=1000)
    contact_email: str | None = Field(default=None, min_length=3, max_length=320)
    locale: Locale | None = None


class StatusChangeOut(Schema):
    from_status: str
    to_status: str
    reason: str
    actor: str
    evidence: dict
    at: str


class AccountOut(Schema):
    id: str
    name: str
    postal_address: str | None
    contact_email: str
    locale: str
    status: Literal["active", "warned", "suspended", "deactivated"]
    can_send: bool
    created_at: str
    status_history: list[StatusChangeOut]
