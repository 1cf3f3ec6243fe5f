"""``flask imports ...``: what was imported, by whom, with which attestation."""
from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from portal.db import isoformat
from portal.extensions import db
from portal.imports import operations
from portal.imports.models import Import

cli = AppGroup("imports", help="List imports and their attestations.")


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
def show_command(import_id: str, as_json: bool) -> None:
    """One import: who uploaded which file, the attestation, counts per reason."""
    record = db.session.get(Import, import_id)
    if record is None:
        raise click.ClickException(f"no import {import_id}")
    if as_json:
        from portal.imports.api import serialize

        click.echo(json.dumps(serialize(record, sample=0)))
        return
    click.echo(_summary(record))
    for label, value in (("uploaded by key", record.api_key_id), ("file", record.file_name),
                         ("sha256", record.file_sha256), ("bytes", record.file_bytes),
                         ("consent method", record.consent_method), ("finished", isoformat(record.finished_at))):
        click.echo(f"  {label}: {value}")
    click.echo("  refused by reason: " + ", ".join(f"{k} {v}" for k, v in (record.refused or {}).items()))
    click.echo("  attestation:\n    " + "\n    ".join(record.attestation.splitlines()))


commands = [cli]
