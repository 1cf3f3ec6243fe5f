"""Customer content in the reader's language: list names and descriptions, form headings, consent texts.

Read only. A field in locale L is its translation into L when the customer gave one, else the
base text, which is in the account's default language. Every answer says which language it is
in, so that pages and mails mark text in another language than theirs with ``lang``.
"""
from __future__ import annotations

from typing import NamedTuple

from flask_babel import get_locale
from markupsafe import Markup, escape

from portal.subscriptions.models import ConsentText, Form, MailingList

#: The fields that can be translated, per kind of thing.
TRANSLATABLE = {MailingList: ("name", "description"), Form: ("heading",)}


class Localized(NamedTuple):
    """A text (None when there is none) and the language it is in."""

    text: str | None
    locale: str


def base_locale(item: MailingList | Form | ConsentText) -> str:
    """The language of the item's own (untranslated) fields: its account's default."""
    if isinstance(item, ConsentText):
        return item.locale
    return (item.account.locale if item.account is not None else None) or "en"


def localized(item: MailingList | Form | ConsentText, field: str, locale: str) -> Localized:
    """``field`` of ``item`` in ``locale``: the translation, else the base text (in its language).

    ``form, "consent_text"`` is the current version's text in ``locale`` (else the account's).
    """
    if isinstance(item, Form) and field == "consent_text":
        item = item.consent_text_for(locale)
        if item is None:
            return Localized(None, locale)
    if isinstance(item, ConsentText):
        return Localized(item.text, item.locale)
    translated = ((item.translations or {}).get(locale) or {}).get(field)
    if translated:
        return Localized(translated, locale)
    return Localized(getattr(item, field), base_locale(item))


def page_locale() -> str:
    """The language of the page or mail being rendered."""
    return str(get_locale() or "en")


def local_html(item, field: str = "text") -> Markup:
    """Jinja filter ``item|local("name")``: the escaped text in the page's language, wrapped in
    ``<span lang="..">`` only when it is in another language than the page's."""
    if item is None:
        return Markup("")
    text, locale = localized(item, field, page_locale())
    if not text:
        return Markup("")
    if locale == page_locale():
        return escape(text)
    return Markup('<span lang="{}">{}</span>').format(locale, text)


def local_text(item, field: str = "text") -> str:
    """Jinja filter ``item|local_text("name")``: the text in the page's language, plain (``.txt`` mails)."""
    if item is None:
        return ""
    return localized(item, field, page_locale()).text or ""


def init_app(app) -> None:
    """Register the filters."""
    app.jinja_env.filters["local"] = local_html
    app.jinja_env.filters["local_text"] = local_text
