"""``flask imports ...``: what was imported, by whom, with which attestation."""
from __future__ import annotations

import json
import logging
import signal
import time

import click
from flask import current_app
from flask.cli import AppGroup

from portal.db import isoformat
from portal.extensions import db
from portal.imports import operations
from portal.imports.models import Import, ImportStatus

cli = AppGroup("imports", help="Run imports; list them and their attestations.")


def _summary(record: Import) -> str:
    refused = {reason: n for reason, n in (record.refused or {}).items() if n}
    return (f"{record.id}  {isoformat(record.created_at)}  account {record.account_id}  list {record.list_id}  "
            f"{record.status}  rows {record.rows}  confirmed {record.confirmed}  pending {record.pending}  "
            f"refused {sum(refused.values())} {json.dumps(refused) if refused else ''}").rstrip()


@cli.command("list")
@click.option("--account", "account_id", help="Only this account's imports.")
@click.option("--limit", default=50, show_default=True)
def list_command(account_id: str | None, limit: int) -> None:
    """The newest imports, one line each."""
    for record in operations.list_imports(account_id, limit):
        click.echo(_summary(record))


@cli.command("show")
@click.argument("import_id")
@click.option("--json", "as_json", is_flag=True, help="Print the import as one JSON object.")
@click.option("--follow", is_flag=True, help="Show a progress bar until the import has finished or failed.")
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds between looks (--follow).")
def show_command(import_id: str, as_json: bool, follow: bool, interval: float) -> None:
    """One import: who uploaded which file, the attestation, counts per reason."""
    record = db.session.get(Import, import_id)
    if record is None:
        raise click.ClickException(f"no import {import_id}")
    if follow and as_json:
        record = _follow(record, interval, quiet=True)
    if as_json:
        from portal.imports.api import serialize

        click.echo(json.dumps(serialize(record, sample=0)))
        return
    if follow and not as_json:
        record = _follow(record, interval)
    click.echo(_summary(record))
    if record.status == ImportStatus.FAILED:
        click.echo(f"  failed: {record.error_code} at row {record.error_row}: {record.error_message}")
    for label, value in (("uploaded by key", record.api_key_id), ("file", record.file_name),
                         ("sha256", record.file_sha256), ("bytes", record.file_bytes),
                         ("consent method", record.consent_method), ("finished", isoformat(record.finished_at))):
        click.echo(f"  {label}: {value}")
    click.echo("  refused by reason: " + ", ".join(f"{k} {v}" for k, v in (record.refused or {}).items()))
    click.echo("  attestation:\n    " + "\n    ".join(record.attestation.splitlines()))



def _reload(import_id: str) -> Import:
    db.session.rollback()  # a new snapshot: what the worker wrote since
    return db.session.get(Import, import_id, populate_existing=True)


def _over(record: Import) -> bool:
    return record.status in (ImportStatus.FINISHED, ImportStatus.FAILED)


def _follow(record: Import, interval: float = 1.0, quiet: bool = False) -> Import:
    """Poll the import until it is over, drawing its bytes read as click's progress bar."""
    import_id = record.id
    if quiet:
        while not _over(record):
            time.sleep(interval)
            record = _reload(import_id)
        return record
    with click.progressbar(length=max(record.file_bytes, 1), label=f"import {import_id}", show_eta=True,
                           item_show_func=lambda r: r and f"{r.status}, {r.rows} rows") as bar:
        shown = 0
        while True:
            target = record.file_bytes if record.status == ImportStatus.FINISHED else record.bytes_read
            bar.update(max(target - shown, 0), record)
            shown = max(shown, target)
            if _over(record):
                return record
            time.sleep(interval)
            record = _reload(import_id)


@cli.command("work")
@click.option("--once", is_flag=True, help="Run the imports waiting now, then exit.")
@click.option("--poll", type=float, default=None, help="Seconds between looks when idle.")
def work_command(once: bool, poll: float | None) -> None:
    """Run queued imports (any number of workers on any machines; each import runs on one)."""
    from portal.imports.operations import worker

    current_app.logger.setLevel(logging.INFO)
    if once:
        for record in worker.run_once():
            click.echo(_summary(record))
        return
    stopping = {"now": False}

    def stop(_signum, _frame):
        stopping["now"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo("import worker started (Ctrl-C to stop)")
    worker.run_forever(lambda: stopping["now"], poll or current_app.config["PORTAL_IMPORT_POLL_SECONDS"])


commands = [cli]
