"""``flask ledger ...``: verify and seal the consent ledger."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from portal.consent import operations
from portal.extensions import db

cli = AppGroup("ledger", help="The consent ledger.")


@cli.command("verify")
@click.option("--max-problems", default=20, show_default=True, help="How many problems to list.")
def verify_command(max_problems: int) -> None:
    """Check every event's hash chain and every checkpoint; exit 1 naming the first bad event."""
    report = operations.verify()
    click.echo(f"checked {report.events} events in {report.chains} chains, "
               f"{report.checkpoints} checkpoints")
    if report.ok:
        click.echo("ledger intact")
        return
    click.echo(f"LEDGER TAMPERED: first bad {report.problems[0]}", err=True)
    for problem in report.problems[1:max_problems]:
        click.echo(f"  also {problem}", err=True)
    sys.exit(1)


@cli.command("seal")
def seal_command() -> None:
    """Seal the events not yet in a checkpoint (run it from cron, every few minutes)."""
    checkpoint = operations.seal(current_app.config["PORTAL_LEDGER_SEAL_GRACE"])
    db.session.commit()
    if checkpoint is None:
        click.echo("nothing new to seal")
    else:
        click.echo(f"checkpoint {checkpoint.id}: events {checkpoint.first_event_id}.."
                   f"{checkpoint.last_event_id} ({checkpoint.event_count})")
commands = [cli]
