"""``/api/v1/accounts/<id>/lists`` and ``.../forms``."""
from __future__ import annotations

from sqlalchemy import select

from portal import api
from portal.accounts.models import Account
from portal.db import isoformat
from portal.extensions import db
from portal.subscriptions import operations
from portal.subscriptions.models import Form, MailingList
from portal.subscriptions.schemas import FormCreate, FormOut, FormPage, ListCreate, ListOut, ListPage


def serialize_list(mailing_list: MailingList) -> dict:
    """A list as the API answers it."""
    return {"id": mailing_list.id, "account_id": mailing_list.account_id, "name": mailing_list.name,
            "description": mailing_list.description, "created_at": isoformat(mailing_list.created_at)}


def serialize_form(form: Form) -> dict:
    """A form as the API answers it, with its hosted URL and embeddable HTML."""
    consent = form.consent_text
    return {
        "id": form.id, "account_id": form.account_id, "name": form.name,
        "list_ids": [item.id for item in form.lists],
        "allowed_origins": list(form.allowed_origins or []),
        "redirect_url": form.redirect_url,
        "consent_text": {"id": consent.id, "version": consent.version, "text": consent.text,
                         "created_at": isoformat(consent.created_at)},
        "hosted_url": operations.hosted_url(form),
        "embed_html": operations.embed_html(form),
        "created_at": isoformat(form.created_at),
    }


@api.route("/accounts/<account_id>/lists", "POST", summary="Create a list", body=ListCreate,
           response=ListOut, status=201, tag="lists")
def create_list(account: Account, body: ListCreate):
    mailing_list = operations.create_list(account, name=body.name, description=body.description)
    db.session.commit()
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
                                  consent_text=body.consent_text)
    db.session.commit()
    return serialize_form(form)


@api.route("/accounts/<account_id>/forms", "GET", summary="List an account's forms",
           query=api.PageQuery, response=FormPage, tag="forms")
def list_forms(account: Account, query: api.PageQuery):
    statement = select(Form).where(Form.account_id == account.id)
    return api.paginate(statement, Form.id, query, serialize_form)
