"""Request and response bodies of the lists and forms API."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from portal.api import Schema
from portal.config import Config


#: A locale code (``id``): one of the supported ones (the operation checks, naming the field).
LocaleKey = Annotated[str, Field(min_length=2, max_length=10)]


def by_locale(nullable: bool = False):
    """A ``translations`` field: per supported locale other than the account's own."""
    extra = {"propertyNames": {"enum": list(Config.PORTAL_LOCALES)}}
    default = {"default": None} if nullable else {"default_factory": dict}
    return Field(**default, max_length=len(Config.PORTAL_LOCALES), json_schema_extra=extra,
                 description="Per supported locale other than the account's own (its text is the fields themselves)."
                 + (" A locale given replaces that locale's; null removes it." if nullable else ""))


class ListTranslation(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class ListCreate(Schema):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    translations: dict[LocaleKey, ListTranslation] = by_locale()


class ListUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    #: null clears it.
    description: str | None = Field(default=None, max_length=2000)
    translations: dict[LocaleKey, ListTranslation | None] | None = by_locale(nullable=True)


class ListOut(Schema):
    id: str
    account_id: str
    name: str
    description: str | None
    translations: dict[str, ListTranslation]
    created_at: str


class ListPage(Schema):
    items: list[ListOut]
    next_cursor: str | None


Origin = Annotated[str, Field(json_schema_extra={"format": "uri", "pattern": "^https?://[^/?#]+$"})]


class FormTranslation(Schema):
    consent_text: str | None = Field(default=None, min_length=1, max_length=5000)
    heading: str | None = Field(default=None, min_length=1, max_length=200)


class FormCreate(Schema):
    name: str = Field(default="Signup form", min_length=1, max_length=200)
    list_ids: list[str] = Field(min_length=1, max_length=50)
    #: Origins: scheme and host (and port), no path (``portal.origins``).
    allowed_origins: list[Origin] = Field(default_factory=list, max_length=50)
    redirect_url: str | None = Field(default=None, max_length=2000, json_schema_extra={"format": "uri",
                                                                                       "pattern": "^https?://"})
    consent_text: str | None = Field(default=None, min_length=1, max_length=5000)
    #: The signup page's heading (null: "Subscribe to <account>").
    heading: str | None = Field(default=None, min_length=1, max_length=200)
    translations: dict[LocaleKey, FormTranslation] = by_locale()


class FormUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    #: null clears it.
    heading: str | None = Field(default=None, min_length=1, max_length=200)
    consent_text: str | None = Field(default=None, min_length=1, max_length=5000)
    translations: dict[LocaleKey, FormTranslation | None] | None = by_locale(nullable=True)
    allowed_origins: list[Origin] | None = Field(default=None, max_length=50)
    #: null clears it.
    redirect_url: str | None = Field(default=None, max_length=2000, json_schema_extra={"format": "uri",
                                                                                       "pattern": "^https?://"})


class ConsentTextOut(Schema):
    id: int
    version: int
    text: str
    locale: str
    created_at: str


class FormTranslationOut(Schema):
    heading: str | None = None
    consent_text: ConsentTextOut | None = None


class FormOut(Schema):
    id: str
    account_id: str
    name: str
    list_ids: list[str]
    allowed_origins: list[str]
    redirect_url: str | None
    heading: str | None
    consent_text: ConsentTextOut
    translations: dict[str, FormTranslationOut]
    hosted_url: str
    embed_html: str
    created_at: str


class FormPage(Schema):
    items: list[FormOut]
    next_cursor: str | None
