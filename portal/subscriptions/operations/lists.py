"""Mailing lists: creating, changing and finding them; the translations lists and forms share."""
from __future__ import annotations

from flask import current_app

from portal.accounts.models import Account
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.subscriptions.models import MailingList


def create_list(account: Account, *, name: str, description: str | None = None,
                translations: dict[str, dict] | None = None) -> MailingList:
    """A new list of ``account``; ``translations``: ``{locale: {"name", "description"}}``."""
    mailing_list = MailingList(account_id=account.id, name=name, description=description,
                               translations=clean_translations(account, translations or {}, LIST_FIELDS))
    db.session.add(mailing_list)
    db.session.flush()
    return mailing_list


def update_list(mailing_list: MailingList, *, translations: dict[str, dict | None] | None = None,
                **changes) -> MailingList:
    """Change a list's name, description (None clears it) or translations (given locales replaced)."""
    for name, value in changes.items():
        if name not in ("name", "description"):
            raise ValidationFailed(f"{name} cannot be changed here.")
        setattr(mailing_list, name, value)
    if translations is not None:
        mailing_list.translations = merged_translations(mailing_list.account, mailing_list.translations,
                                                        translations, LIST_FIELDS)
    db.session.flush()
    return mailing_list


#: The fields a translation may give, per kind.
LIST_FIELDS = ("name", "description")
FORM_FIELDS = ("heading", "consent_text")


def clean_translations(account: Account, translations: dict[str, dict], fields: tuple[str, ...]) -> dict:
    """``{locale: {field: text}}`` with empty fields left out; ValidationFailed naming a locale
    that is not supported or is the account's own (its text is the fields themselves)."""
    cleaned = {}
    for locale, values in translations.items():
        if locale not in current_app.config["PORTAL_LOCALES"]:
            raise _field_error(["translations", locale], f"translations: {locale[:20]!r} is not a supported locale "
                               f"({', '.join(current_app.config['PORTAL_LOCALES'])}).")
        if locale == (account.locale or "en"):
            raise _field_error(["translations", locale], f"translations: {locale!r} is the account's language: "
                               "give that text in the fields themselves.")
        kept = {field: value for field, value in (values or {}).items() if field in fields and value}
        if kept:
            cleaned[locale] = kept
    return cleaned


def merged_translations(account: Account, current: dict | None, changes: dict[str, dict | None],
                        fields: tuple[str, ...]) -> dict:
    """``current`` with each locale of ``changes`` replaced (None removes the locale)."""
    merged = dict(current or {})
    for locale, values in changes.items():
        if values is None:
            merged.pop(locale, None)
        else:
            merged[locale] = values
    return clean_translations(account, merged, fields)


def get_list(account: Account, list_id: str) -> MailingList:
    """A list of this account, or :class:`NotFound` (also for another account's list)."""
    mailing_list = db.session.get(MailingList, list_id)
    if mailing_list is None or mailing_list.account_id != account.id:
        raise NotFound("No such list.")
    return mailing_list


def _field_error(loc: list, message: str) -> ValidationFailed:
    """A refusal naming the field at ``loc`` (also the forms' origins and redirect URL)."""
    return ValidationFailed(message, details=[{"loc": loc, "msg": message}])
