"""``flask lists ...`` and ``flask forms ...``."""
from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.accounts.cli import echo_rows, fail
from portal.accounts.operations import get_account
from portal.errors import PortalError
from portal.extensions import db
from portal.subscriptions import operations
from portal.subscriptions.api import serialize_form, serialize_list
from portal.subscriptions.models import Form, MailingList

lists_cli = AppGroup("lists", help="Mailing lists.")
forms_cli = AppGroup("forms", help="Signup forms.")


@lists_cli.command("create")
@click.option("--account", "account_id", required=True)
@click.option("--name", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the list as one JSON object.")
def create_list_command(account_id, name, as_json) -> None:
    """Create a list for an account."""
    try:
        mailing_list = operations.create_list(get_account(account_id), name=name)
    except PortalError as error:
        fail(error)
    db.session.commit()
    click.echo(json.dumps(serialize_list(mailing_list)) if as_json else f"list {mailing_list.id} created")


@forms_cli.command("create")
@click.option("--account", "account_id", required=True)
@click.option("--list", "list_ids", required=True, multiple=True, help="A list the form signs up to (repeatable).")
@click.option("--name", default="Signup form", show_default=True)
@click.option("--allowed-origin", "origins", multiple=True, help="An origin that may embed the form (repeatable).")
@click.option("--redirect-url", help="Where to send the browser after signup (on an allowed origin).")
@click.option("--consent-text", help="The consent wording shown beside the button.")
@click.option("--json", "as_json", is_flag=True, help="Print the form as one JSON object.")
def create_form_command(account_id, list_ids, name, origins, redirect_url, consent_text, as_json) -> None:
    """Create a signup form and print its hosted URL."""
    try:
        form = operations.create_form(get_account(account_id), name=name, list_ids=list(list_ids),
                                      allowed_origins=list(origins), redirect_url=redirect_url,
                                      consent_text=consent_text)
    except PortalError as error:
        fail(error)
    db.session.commit()
    if as_json:
        click.echo(json.dumps(serialize_form(form)))
    else:
        click.echo(f"form {form.id} created: {operations.hosted_url(form)}")


@lists_cli.command("list")
@click.option("--account", "account_id", required=True)
@click.option("--json", "as_json", is_flag=True, help='Print {"items": [list...]} as the API answers them.')
def list_lists_command(account_id, as_json) -> None:
    """List an account's lists, oldest first."""
    try:
        account = get_account(account_id)
    except PortalError as error:
        fail(error)
    statement = select(MailingList).where(MailingList.account_id == account.id).order_by(
        MailingList.created_at, MailingList.id)
    echo_rows([serialize_list(item) for item in db.session.scalars(statement)], ("id", "name"), as_json)


@forms_cli.command("list")
@click.option("--account", "account_id", required=True)
@click.option("--json", "as_json", is_flag=True, help='Print {"items": [form...]} as the API answers them.')
def list_forms_command(account_id, as_json) -> None:
    """List an account's forms with their hosted URLs, oldest first."""
    try:
        account = get_account(account_id)
    except PortalError as error:
        fail(error)
    statement = select(Form).where(Form.account_id == account.id).order_by(Form.created_at, Form.id)
    echo_rows([serialize_form(form) for form in db.session.scalars(statement)], ("id", "name", "hosted_url"),
              as_json)


commands = [lists_cli, forms_cli]
