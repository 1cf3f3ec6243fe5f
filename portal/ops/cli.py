"""``flask operators ...``: the compliance console's operators."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.errors import PortalError
from portal.extensions import db
from portal.ops import operations

operators_cli = AppGroup("operators", help="Operators of the compliance console (/ops/).")


@operators_cli.command("create")
@click.argument("username")
@click.password_option(help="At least 12 characters; asked for twice when not given.")
def create_command(username, password) -> None:
    """Create an operator; prints the TOTP secret to enrol in an authenticator app, once."""
    try:
        operator, secret = operations.create_operator(username, password)
    except PortalError as error:
        raise click.ClickException(error.message)
    db.session.commit()
    click.echo(f"operator {operator.username} created. Enrol this TOTP secret in an authenticator app now;\n"
               f"it is not shown again:\n{secret}\n{operations.provisioning_uri(operator)}")


commands = [operators_cli]
