"""Signup forms: their origins and redirect URL, creating and changing them, their versioned consent
texts, finding them, and the hosted page's URL and the embeddable HTML."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from portal import origins as origins_
from portal.accounts.models import Account
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.subscriptions.models import ConsentText, Form
from portal.subscriptions.operations.lists import (FORM_FIELDS, _field_error, clean_translations, get_list,
                                                   merged_translations)


def default_consent_text(account: Account) -> str:
    """The consent wording of a form that gives none, in the account's language."""
    with force_locale(account.locale or "en"):
        return gettext("Yes, send me email from %(account)s. I can unsubscribe at any time with the "
                       "link in every message.", account=account.name)


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower-cased; None for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    host = parts.hostname.lower()
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def clean_origins(origins: list[str]) -> list[str]:
    """Allowed embedding origins, normalised; :class:`ValidationFailed` naming the bad one."""
    cleaned = []
    for index, value in enumerate(origins):
        try:
            origin = origins_.origin(value.strip())
        except origins_.NotAnOrigin as error:
            raise _field_error(["allowed_origins", index],
                               f"allowed_origins[{index}] {value[:100]!r} {error}.") from None
        if origin not in cleaned:
            cleaned.append(origin)
    return cleaned


def check_redirect_url(redirect_url: str | None, origins: list[str]) -> str | None:
    """The redirect URL when it is a clean URL on one of ``origins``; ValidationFailed naming it."""
    if not redirect_url:
        return None
    try:
        origin = origins_.url_origin(redirect_url.strip())
    except origins_.NotAnOrigin as error:
        raise _field_error(["redirect_url"], f"redirect_url {redirect_url[:100]!r} {error}.") from None
    if origin not in origins:
        raise _field_error(["redirect_url"], "redirect_url must be on one of the allowed origins.")
    return redirect_url.strip()


def create_form(account: Account, *, name: str, list_ids: list[str], allowed_origins: list[str] = (),
                redirect_url: str | None = None, consent_text: str | None = None, heading: str | None = None,
                translations: dict[str, dict] | None = None) -> Form:
    """A new signup form for one or more lists of ``account``, with consent text version 1
    (a row in the account's language and one per translation that gives a consent text)."""
    if not list_ids:
        raise ValidationFailed("A form needs at least one list.")
    lists = [get_list(account, list_id) for list_id in dict.fromkeys(list_ids)]
    origins = clean_origins(list(allowed_origins))
    redirect_url = check_redirect_url(redirect_url, origins)
    translations = clean_translations(account, translations or {}, FORM_FIELDS)
    form = Form(account_id=account.id, name=name, allowed_origins=origins, redirect_url=redirect_url, lists=lists,
                heading=heading or None, translations=_headings(translations))
    db.session.add(form)
    db.session.flush()
    set_consent_texts(form, {**_consent_texts(translations),
                             account.locale or "en": consent_text or default_consent_text(account)})
    return form


def _headings(translations: dict[str, dict]) -> dict[str, dict]:
    """What a form keeps in ``translations``: the headings (its consent texts are rows of their own)."""
    return {locale: {"heading": values["heading"]} for locale, values in translations.items() if values.get("heading")}


def _consent_texts(translations: dict[str, dict]) -> dict[str, str]:
    return {locale: values["consent_text"] for locale, values in translations.items() if values.get("consent_text")}


def update_form(form: Form, *, consent_text: str | None = None, translations: dict[str, dict | None] | None = None,
                **changes) -> Form:
    """Change a form's name, heading, origins, redirect URL, consent text or translations.

    Translations of the locales given replace theirs (None removes one). A consent text that
    changes in any language makes a new version with a row for every language; the same words
    make none. Everything is checked before anything changes.
    """
    if set(changes) - {"name", "heading", "allowed_origins", "redirect_url"}:
        raise ValidationFailed(f"{sorted(set(changes))[0]} cannot be changed here.")
    merged = None if translations is None else merged_translations(form.account, form_translations(form),
                                                                   translations, FORM_FIELDS)
    origins = clean_origins(list(changes["allowed_origins"] or [])) if "allowed_origins" in changes else None
    if origins is not None or "redirect_url" in changes:
        form.redirect_url = check_redirect_url(changes.get("redirect_url", form.redirect_url),
                                               form.allowed_origins if origins is None else origins)
        form.allowed_origins = form.allowed_origins if origins is None else origins
    form.name = changes.get("name", form.name)
    form.heading = changes.get("heading", form.heading) or None
    if merged is not None:
        form.translations = _headings(merged)
    set_consent_texts(form, _new_consent_texts(form, consent_text, merged))
    db.session.flush()
    return form


def _new_consent_texts(form: Form, consent_text: str | None, merged: dict | None) -> dict[str, str]:
    """``{locale: text}`` of the form once changed: its own language's text, then the translations'."""
    own = form.account.locale or "en"
    texts = {text.locale: text.text for text in form.current_consent_texts}
    if merged is not None:
        texts = {**{locale: text for locale, text in texts.items() if locale == own}, **_consent_texts(merged)}
    if consent_text:
        texts[own] = consent_text
    return texts


def form_translations(form: Form) -> dict[str, dict[str, str]]:
    """A form's translations as the API takes them: ``{locale: {"heading", "consent_text"}}``
    (the consent texts of the current version in other languages than the account's)."""
    translations = {locale: dict(values) for locale, values in (form.translations or {}).items()}
    for text in form.current_consent_texts:
        if text.locale != form.account.locale:
            translations.setdefault(text.locale, {})["consent_text"] = text.text
    return translations


def set_consent_text(form: Form, text: str) -> ConsentText:
    """A new version of the form's consent text in the account's language, the other languages
    kept (old versions stay, for the record); the same words make no new version."""
    texts = {text_.locale: text_.text for text_ in form.current_consent_texts}
    texts[form.account.locale or "en"] = text
    return set_consent_texts(form, texts)[form.account.locale or "en"]


def set_consent_texts(form: Form, texts: dict[str, str]) -> dict[str, ConsentText]:
    """Make ``{locale: text}`` the form's consent text: a new version with a row per locale unless
    the current version says exactly that (old versions stay, for the record)."""
    current = {text.locale: text for text in form.current_consent_texts}
    if not texts or {locale: text.text for locale, text in current.items()} == texts:
        return current
    version = (db.session.scalar(select(func.max(ConsentText.version)).where(ConsentText.form_id == form.id)) or 0) + 1
    rows = {locale: ConsentText(form_id=form.id, version=version, locale=locale, text=text)
            for locale, text in sorted(texts.items())}
    db.session.add_all(rows.values())
    db.session.flush()
    db.session.refresh(form, ["consent_texts"])
    return rows


def get_form(form_id: str) -> Form:
    """A form by id, or :class:`NotFound`."""
    form = db.session.get(Form, form_id)
    if form is None:
        raise NotFound("No such form.")
    return form


def get_account_form(account: Account, form_id: str) -> Form:
    """A form of this account, or :class:`NotFound` (also for another account's form)."""
    form = db.session.get(Form, form_id)
    if form is None or form.account_id != account.id:
        raise NotFound("No such form.")
    return form


def hosted_url(form: Form) -> str:
    """The public URL of the hosted signup page."""
    return f"{current_app.config['PORTAL_BASE_URL']}/f/{form.id}"


def embed_html(form: Form) -> str:
    """A plain HTML ``<form>`` that posts to the portal: works pasted anywhere, no script."""
    with force_locale(form.account.locale or "en"):  # the account's language, also outside a request
        return render_template("subscriptions/embed.html", form=form, action=hosted_url(form)).strip()
