"""Request and response bodies of the webhook endpoints API."""
from __future__ import annotations

from pydantic import ConfigDict, Field

from portal import api
from portal.webhooks.models import WebhookEvent


class WebhookCreate(api.Schema):
    #: https (plain http only to loopback, in development: PORTAL_WEBHOOKS_ALLOW_HTTP_LOOPBACK).
    url: str = Field(min_length=8, max_length=2000, json_schema_extra={"format": "uri", "pattern": "^https://"})
    #: Default: every event.
    events: list[str] = Field(default_factory=lambda: list(WebhookEvent.ALL), min_length=1, max_length=10,
                              json_schema_extra={"items": {"type": "string", "enum": list(WebhookEvent.ALL)}})


class WebhookOut(api.Schema):
    id: str
    url: str
    events: list[str]
    created_at: str
    disabled_at: str | None
    #: Only in the answer to the create call: keep it, it is never shown again.
    secret: str | None = None


class WebhookList(api.Schema):
    items: list[WebhookOut]


class WebhookDeleteQuery(api.Schema):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=32)
