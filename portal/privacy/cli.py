"""``flask privacy purge``: the retention job, for cron."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.extensions import db
from portal.privacy import operations

cli = AppGroup("privacy", help="Personal data: retention.")


@cli.command("purge")
def purge_command() -> None:
    """Purge never-confirmed signups and old full IPs; a run that finds another running exits quietly."""
    report = operations.purge()
    db.session.commit()
    if not report.ran:
        click.echo("another purge is running; nothing done")
        return
    click.echo(f"purged {report.subscriptions} pending subscriptions, redacted {report.contacts} contacts, "
               f"dropped {report.ips} full IP addresses")


commands = [cli]
