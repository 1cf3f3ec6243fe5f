"""``flask outbox work [--once]``: the delivery worker."""
from __future__ import annotations

import logging
import signal

import click
from flask import current_app
from flask.cli import AppGroup

from portal.outbox import worker

outbox_cli = AppGroup("outbox", help="The transactional outbox (mail and webhooks).")


@outbox_cli.command("work")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--poll", type=float, default=None, help="Seconds between polls when idle.")
def work_command(once: bool, poll: float | None) -> None:
    """Deliver outbox messages: SMTP (MAIL_SERVER) or .eml files, with retries and backoff."""
    current_app.logger.setLevel(logging.INFO)
    if once:
        report = worker.run_once()
        click.echo(f"sent {len(report.sent)}, retrying {len(report.retried)}, failed {len(report.failed)}")
        return
    stopping = {"now": False}

    def stop(_signum, _frame):
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo("outbox worker started (Ctrl-C to stop)")
    worker.run_forever(lambda: stopping["now"], poll or current_app.config["PORTAL_OUTBOX_POLL_SECONDS"])


commands = [outbox_cli]
