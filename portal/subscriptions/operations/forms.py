"""Lists, forms and contacts: creating them and finding them."""
from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale, gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal import origins as origins_
from portal.accounts.models import Account
from portal.addresses import email_hash, normalise
from portal.db import utcnow
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.subscriptions.models import (ConsentText, Contact, Form, MailingList, Subscription,
                                         SubscriptionStatus)


def default_consent_text(account: Account) -> str:
    """The consent wording of a form that gives none, in the account's language."""
    with force_locale(account.locale or "en"):
        return gettext("Yes, send me email from %(account)s. I can unsubscribe at any time with the "
                       "link in every message.", account=account.name)


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


def _field_error(loc: list, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"loc": loc, "msg": message}])


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


def find_contact(account_id: str, address: str) -> Contact | None:
    """The account's contact for ``address`` (any case), or None."""
    return db.session.scalars(select(Contact).where(
        Contact.account_id == account_id, Contact.email_hash == email_hash(address))).first()


def get_or_create_contact(account: Account, address: str, *, name: str | None = None) -> Contact:
    """The account's contact for ``address``, created when new (flushes).

    A contact whose personal data was purged gets the address back: the caller has just been
    given it again (an erased contact is first retired by :func:`retire_erased`).
    Two requests creating the same contact at once: the loser's insert fails on the unique
    constraint inside a savepoint, and it takes the winner's row instead of failing.
    """
    normalised = normalise(address)
    contact = find_contact(account.id, normalised)
    if contact is None:
        try:
            with db.session.begin_nested():
                contact = Contact(account_id=account.id, email=normalised, email_hash=email_hash(normalised),
                                  name=name or None)
                db.session.add(contact)
        except IntegrityError:
            contact = find_contact(account.id, normalised)
            if contact is None:
                raise
    elif contact.email is None:
        contact.email, contact.name = normalised, name or None
        db.session.flush()
    return contact


def retire_erased(contact: Contact) -> None:
    """Free an erased contact's address for a new contact (the person signs up again).

    The erased row keeps its id, its redacted ledger chain and its dead links; only its hash
    changes (to one no address gives), so that the new signup is a new contact with new links.
    """
    contact.email_hash = hashlib.sha256(f"retired\0{contact.id}\0{contact.email_hash}".encode()).hexdigest()
    db.session.flush()


def lock_contact(contact: Contact) -> None:
    """Take ``contact``'s row lock until commit, and forget what was read before it.

    Every change of a person's subscriptions takes it first, so that the same link clicked
    many times at once makes one change and one ledger event (PostgreSQL; SQLite has one writer).
    """
    db.session.flush()
    db.session.execute(select(Contact.id).where(Contact.id == contact.id).with_for_update())
    db.session.expire_all()


# --- the subscription state machine -------------------------------------------------------

#: transition name -> (states it may start from, state it leads to, timestamp it sets).
TRANSITIONS: dict[str, tuple[frozenset[str | None], str, str | None]] = {
    "request": (frozenset({None, SubscriptionStatus.PENDING, SubscriptionStatus.UNSUBSCRIBED,
                           SubscriptionStatus.DECLINED, SubscriptionStatus.BOUNCED}),
                SubscriptionStatus.PENDING, "requested_at"),
    "confirm": (frozenset({SubscriptionStatus.PENDING}), SubscriptionStatus.CONFIRMED, "confirmed_at"),
    "decline": (frozenset({SubscriptionStatus.PENDING}), SubscriptionStatus.DECLINED, None),
    "unsubscribe": (frozenset({SubscriptionStatus.PENDING, SubscriptionStatus.CONFIRMED}),
                    SubscriptionStatus.UNSUBSCRIBED, "unsubscribed_at"),
    "resubscribe": (frozenset({SubscriptionStatus.UNSUBSCRIBED}), SubscriptionStatus.CONFIRMED, None),
    "complain": (frozenset({SubscriptionStatus.PENDING, SubscriptionStatus.CONFIRMED,
                            SubscriptionStatus.UNSUBSCRIBED}), SubscriptionStatus.COMPLAINED, None),
    "bounce": (frozenset({SubscriptionStatus.PENDING, SubscriptionStatus.CONFIRMED}),
               SubscriptionStatus.BOUNCED, None),
}


class TransitionRefused(Conflict):
    """The subscription is not in a state this transition starts from."""

    code = "invalid_transition"


def can(subscription: Subscription | None, transition: str) -> bool:
    """Whether ``transition`` may start from the subscription's state (None: no subscription)."""
    sources, _target, _stamp = TRANSITIONS[transition]
    return (subscription.status if subscription is not None else None) in sources


def apply(subscription: Subscription, transition: str, at=None) -> bool:
    """Move ``subscription`` along ``transition``; False when it already is in the target state.

    :raises TransitionRefused: when the current state does not allow it.
    """
    sources, target, stamp = TRANSITIONS[transition]
    if subscription.status == target and transition != "request":
        return False
    if subscription.status not in sources:
        raise TransitionRefused(f"cannot {transition} a {subscription.status} subscription")
    subscription.status = target
    if stamp:
        setattr(subscription, stamp, at or utcnow())
    if transition == "resubscribe":
        subscription.unsubscribed_at = None
    db.session.flush()
    return True


def get_or_create_subscription(contact: Contact, mailing_list: MailingList) -> tuple[Subscription, bool]:
    """The contact's subscription to the list, and whether it was just created (status None)."""
    subscription = db.session.scalars(select(Subscription).where(
        Subscription.contact_id == contact.id, Subscription.list_id == mailing_list.id)).first()
    if subscription is not None:
        return subscription, False
    subscription = Subscription(contact_id=contact.id, list_id=mailing_list.id, status=None)
    db.session.add(subscription)
    return subscription, True
