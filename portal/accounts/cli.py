"""``flask accounts ...`` and ``flask keys ...``."""
from __future__ import annotations

import json
import os

import click
from flask.cli import AppGroup

from sqlalchemy import select

from portal.accounts import operations
from portal.accounts.api import serialize
from portal.accounts.models import Account, ApiKey
from portal.addresses import normalise
from portal.db import isoformat
from portal.errors import PortalError
from portal.extensions import db

accounts_cli = AppGroup("accounts", help="Customer accounts.")
keys_cli = AppGroup("keys", help="API keys.")


def fail(error: PortalError) -> None:
    """Print a domain error as a CLI error and exit non-zero."""
    raise click.ClickException(error.message)


def echo_rows(rows: list[dict], columns: tuple[str, ...], as_json: bool) -> None:
    """``--json``: ``{"items": [...]}``; otherwise one tab-separated line per row, under a header."""
    if as_json:
        click.echo(json.dumps({"items": rows}))
        return
    click.echo("\t".join(columns))
    for row in rows:
        click.echo("\t".join("" if row.get(name) is None else str(row[name]) for name in columns))


def serialize_key(key: ApiKey) -> dict:
    """A key as the CLI lists it: never its secret, nor the secret's hash."""
    return {"id": key.id, "scope": key.scope, "account_id": key.account_id, "name": key.name,
            "created_at": isoformat(key.created_at), "revoked_at": isoformat(key.revoked_at)}


@accounts_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help='Print {"items": [account...]} as the API answers them.')
def list_accounts_command(as_json) -> None:
    """List every account, oldest first."""
    accounts = db.session.scalars(select(Account).order_by(Account.created_at, Account.id)).all()
    echo_rows([serialize(account) for account in accounts], ("id", "name", "status", "contact_email"), as_json)


@accounts_cli.command("create")
@click.option("--name", required=True)
@click.option("--postal-address", required=True, help="Shown in every mail and page; required to send.")
@click.option("--contact-email", required=True, help="Where policy notices go.")
@click.option("--locale", default="en", type=click.Choice(["en", "id"]), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the account as one JSON object.")
def create_account_command(name, postal_address, contact_email, locale, as_json) -> None:
    """Create an account."""
    try:
        account = operations.create_account(name=name, postal_address=postal_address,
                                            contact_email=normalise(contact_email), locale=locale)
    except PortalError as error:
        fail(error)
    db.session.commit()
    click.echo(json.dumps(serialize(account)) if as_json else f"account {account.id} created")


@accounts_cli.command("review")
@click.argument("account_id")
@click.option("--decision", required=True,
              type=click.Choice(["warn_again", "suspend", "reinstate", "deactivate"]),
              help="warn_again: warned, review closed; suspend: no sending, review stays open; "
                   "reinstate: back to active; deactivate: never sends again.")
@click.option("--note", required=True, help="Why: kept with the decision and the status history.")
@click.option("--actor", default=lambda: f"operator:{os.environ.get('USER', 'unknown')}",
              show_default="operator:$USER",
              help="Who decides; operator:<user name> of a console operator also records its id.")
def review_command(account_id, decision, note, actor) -> None:
    """Decide on an account's open review (as the console's decision form does).

    An id that begins with "-" goes after "--": review --decision ... --note ... -- ID
    """
    from portal.complaints import operations as complaints
    from portal.ops.operations import find

    # An actor naming a console operator (operator:<user name>) is recorded by that operator's id too.
    operator = find(actor.removeprefix("operator:")) if actor.startswith("operator:") else None
    try:
        account = operations.get_account(account_id)
        review = complaints.decide_review(account, decision, note=note, actor=actor,
                                          operator_id=operator.id if operator is not None else None)
    except PortalError as error:
        fail(error)
    db.session.commit()
    outcome = "closed" if review.closed_at is not None else "stays open for the final decision"
    click.echo(f"review {review.id} {outcome}: account {account.id} is now {account.status}")


@keys_cli.command("create")
@click.option("--scope", required=True, type=click.Choice(["platform", "account"]))
@click.option("--account", "account_id", help="The account of an account-scoped key.")
@click.option("--name", help="A label for the key.")
@click.option("--json", "as_json", is_flag=True, help="Print {id, key, scope, account_id}.")
def create_key_command(scope, account_id, name, as_json) -> None:
    """Create an API key; its secret is printed once and cannot be shown again."""
    try:
        key, secret = operations.create_api_key(scope=scope, account_id=account_id, name=name)
    except PortalError as error:
        fail(error)
    db.session.commit()
    if as_json:
        click.echo(json.dumps({"id": key.id, "key": secret, "scope": key.scope, "account_id": key.account_id}))
    else:
        click.echo(f"key {key.id} ({scope}) created. Keep it now; it is not shown again:\n{secret}")


@keys_cli.command("list")
@click.option("--account", "account_id", help="Only this account's keys.")
@click.option("--json", "as_json", is_flag=True, help='Print {"items": [{id, scope, account_id, name, ...}]}.')
def list_keys_command(account_id, as_json) -> None:
    """List API keys, oldest first: ids, scopes and revocation, never a secret."""
    statement = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if account_id:
        statement = statement.where(ApiKey.account_id == account_id)
    rows = [serialize_key(key) for key in db.session.scalars(statement)]
    echo_rows(rows, ("id", "scope", "account_id", "name", "created_at", "revoked_at"), as_json)


@keys_cli.command("revoke")
@click.argument("key_id")
@click.option("--json", "as_json", is_flag=True, help="Print the revoked key as one JSON object.")
def revoke_key_command(key_id, as_json) -> None:
    """Revoke an API key (by its id, the part of the key between "cpk_" and the dot)."""
    try:
        key = operations.get_api_key(key_id)
    except PortalError as error:
        fail(error)
    operations.revoke_api_key(key)
    db.session.commit()
    click.echo(json.dumps(serialize_key(key)) if as_json else f"key {key.id} revoked")


commands = [accounts_cli, keys_cli]
