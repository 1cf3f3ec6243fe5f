"""``flask accounts ...`` and ``flask keys ...``."""
from __future__ import annotations

import json
import os

import click
from flask.cli import AppGroup

from portal.accounts import operations
from portal.accounts.api import serialize
from portal.addresses import normalise
from portal.errors import PortalError
from portal.extensions import db

accounts_cli = AppGroup("accounts", help="Customer accounts.")
keys_cli = AppGroup("keys", help="API keys.")


def fail(error: PortalError) -> None:
    """Print a domain error as a CLI error and exit non-zero."""
    raise click.ClickException(error.message)


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
              show_default="operator:$USER", help="Who decides.")
def review_command(account_id, decision, note, actor) -> None:
    """Decide on an account's open review (as the console's decision form does).

    An id that begins with "-" goes after "--": review --decision ... --note ... -- ID
    """
    from portal.complaints import policy

    try:
        account = operations.get_account(account_id)
        review = policy.decide_review(account, decision, note=note, actor=actor)
    except PortalError as error:
        fail(error)
    db.session.commit()
    click.echo(f"review {review.id} closed: account {account.id} is now {account.status}")


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
commands = [accounts_cli, keys_cli]
