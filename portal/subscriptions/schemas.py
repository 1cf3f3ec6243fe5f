"""Request and response bodies of the lists and forms API."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from portal.api import Schema


class ListCreate(Schema):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class ListOut(Schema):
    id: str
    account_id: str
    name: str
    description: str | None
    created_at: str


class ListPage(Schema):
    items: list[ListOut]
    next_cursor: str | None


Origin = Annotated[str, Field(json_schema_extra={"format": "uri", "pattern": "^https?://[^/?#]+$"})]


class FormCreate(Schema):
    name: str = Field(default="Signup form", min_length=1, max_length=200)
    list_ids: list[str] = Field(min_length=1, max_length=50)
    #: Origins: scheme and host (and port), no path (``portal.origins``).
    allowed_origins: list[Origin] = Field(default_factory=list, max_length=50)
    redirect_url: str | None = Field(default=None, max_length=2000, json_schema_extra={"format": "uri",
                                                                                       "pattern": "^https?://"})
    consent_text: str | None = Field(default=None, min_length=1, max_length=5000)


class ConsentTextOut(Schema):
    id: int
    version: int
    text: str
    created_at: str


class FormOut(Schema):
    id: str
    account_id: str
    name: str
    list_ids: list[str]
    allowed_origins: list[str]
    redirect_url: str | None
    consent_text: ConsentTextOut
    hosted_url: str
    embed_html: str
    created_at: str


class FormPage(Schema):
    items: list[FormOut]
    next_cursor: str | None
