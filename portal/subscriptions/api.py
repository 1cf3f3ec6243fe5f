"""``/api/v1/accounts/<id>/lists`` and ``.../forms``."""
from __future__ import annotations

from sqlalchemy import select

from portal import api
from portal.accounts.models import Account
from portal.db import isoformat
from portal.subscriptions import operations
from portal.subscriptions.models import ConsentText, Form, MailingList
from portal.subscriptions.schemas import (FormCreate, FormOut, FormPage, FormUpdate, ListCreate, ListOut, ListPage,
                                          ListUpdate)


def serialize_list(mailing_list: MailingList) -> dict:
    """A list as the API answers it."""
    return {"id": mailing_list.id, "account_id": mailing_list.account_id, "name": mailing_list.name,
            "description": mailing_list.description, "translations": dict(mailing_list.translations or {}),
            "created_at": isoformat(mailing_list.created_at)}


def serialize_consent_text(consent: ConsentText) -> dict:
    """One language of one version of a consent text."""
    return {"id": consent.id, "version": consent.version, "text": consent.text, "locale": consent.locale,
            "created_at": isoformat(consent.created_at)}


def _form_translations(form: Form) -> dict:
    texts = {text.locale: text for text in form.current_consent_texts}
    return {locale: {"heading": (form.translations or {}).get(locale, {}).get("heading"),
                     "consent_text": serialize_consent_text(texts[locale]) if locale in texts else None}
            for locale in operations.form_translations(form)}


def serialize_form(form: Form) -> dict:
    """A form as the API answers it, with its hosted URL and embeddable HTML."""
    return {
        "id": form.id, "account_id": form.account_id, "name": form.name,
        "list_ids": [item.id for item in form.lists],
        "allowed_origins": list(form.allowed_origins or []),
        "redirect_url": form.redirect_url,
        "heading": form.heading,
        "consent_text": serialize_consent_text(form.consent_text),
        "translations": _form_translations(form),
        "hosted_url": operations.hosted_url(form),
        "embed_html": operations.embed_html(form),
        "created_at": isoformat(form.created_at),
    }


@api.route("/accounts/<account_id>/lists", "POST", summary="Create a list", body=ListCreate,
           response=ListOut, status=201, tag="lists")
def create_list(account: Account, body: ListCreate):
    mailing_list = operations.create_list(account, name=body.name, description=body.description,
                                          translations=_dumped(body.translations))
    return serialize_list(mailing_list)


def _dumped(translations: dict | None) -> dict | None:
    """Translations of a body as plain dicts (a locale given as null stays None: it is removed)."""
    if translations is None:
        return None
    return {locale: None if values is None else values.model_dump(exclude_none=True)
            for locale, values in translations.items()}


def _changes(body, clearable: tuple[str, ...]) -> dict:
    """The fields a PATCH body sets; those of ``clearable`` also when null."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True, exclude={"translations"})
    changes.update({name: None for name in clearable if name in body.model_fields_set
                    and getattr(body, name) is None})
    return changes


@api.route("/accounts/<account_id>/lists/<list_id>", "GET", summary="Read a list", response=ListOut, tag="lists")
def get_list(account: Account, list_id: str):
    return serialize_list(operations.get_list(account, list_id))


@api.route("/accounts/<account_id>/lists/<list_id>", "PATCH", summary="Update a list", body=ListUpdate,
           response=ListOut, tag="lists")
def update_list(account: Account, list_id: str, body: ListUpdate):
    mailing_list = operations.update_list(operations.get_list(account, list_id), **_changes(body, ("description",)),
                                          translations=_dumped(body.translations))
    return serialize_list(mailing_list)


@api.route("/accounts/<account_id>/lists", "GET", summary="List an account's lists",
           query=api.PageQuery, response=ListPage, tag="lists")
def list_lists(account: Account, query: api.PageQuery):
    statement = select(MailingList).where(MailingList.account_id == account.id)
    return api.paginate(statement, MailingList.id, query, serialize_list)


@api.route("/accounts/<account_id>/forms", "POST", summary="Create a signup form", body=FormCreate,
           response=FormOut, status=201, tag="forms")
def create_form(account: Account, body: FormCreate):
    form = operations.create_form(account, name=body.name, list_ids=body.list_ids,
                                  allowed_origins=body.allowed_origins, redirect_url=body.redirect_url,
                                  consent_text=body.consent_text, heading=body.heading,
                                  translations=_dumped(body.translations))
    return serialize_form(form)


@api.route("/accounts/<account_id>/forms/<form_id>", "GET", summary="Read a signup form", response=FormOut,
           tag="forms")
def get_form(account: Account, form_id: str):
    return serialize_form(operations.get_account_form(account, form_id))


@api.route("/accounts/<account_id>/forms/<form_id>", "PATCH", summary="Update a signup form", body=FormUpdate,
           response=FormOut, tag="forms")
def update_form(account: Account, form_id: str, body: FormUpdate):
    form = operations.update_form(operations.get_account_form(account, form_id),
                                  **_changes(body, ("heading", "redirect_url")),
                                  translations=_dumped(body.translations))
    return serialize_form(form)


@api.route("/accounts/<account_id>/forms", "GET", summary="List an account's forms",
           query=api.PageQuery, response=FormPage, tag="forms")
def list_forms(account: Account, query: api.PageQuery):
    statement = select(Form).where(Form.account_id == account.id)
    return api.paginate(statement, Form.id, query, serialize_form)
