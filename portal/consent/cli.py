"""``flask ledger ...``: verify and seal the consent ledger, make its keys."""
from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from portal.consent import anchors, keys, operations
from portal.extensions import db
from portal.polling import wait

cli = AppGroup("ledger", help="The consent ledger.")


@cli.command("verify")
@click.option("--max-problems", default=20, show_default=True, help="How many problems to list.")
@click.option("--anchors", "anchor_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A copy of the anchor log kept elsewhere (repeatable); default: the local anchor log.")
def verify_command(max_problems: int, anchor_files: tuple[str, ...]) -> None:
    """Check every event's chain and keyed hash, every signed checkpoint, and the anchor copies."""
    report = operations.verify(list(anchor_files) or None)
    click.echo(f"checked {report.events} events in {report.chains} chains, "
               f"{report.checkpoints} checkpoints, {report.anchors} anchored checkpoints")
    if report.ok:
        click.echo("ledger intact")
        return
    click.echo(f"LEDGER TAMPERED: first bad {report.problems[0]}", err=True)
    for problem in report.problems[1:max_problems]:
        click.echo(f"  also {problem}", err=True)
    sys.exit(1)


@cli.command("seal")
@click.option("--adopt-legacy", is_flag=True,
              help="Once, after upgrading: let the first signed checkpoint vouch for events written "
                   "before keyed hashes.")
@click.option("--every", type=click.FloatRange(min=0.1), default=None,
              help="Keep running: seal every this many seconds (development, `make run`; cron in production).")
def seal_command(adopt_legacy: bool, every: float | None) -> None:
    """Seal the events not yet in a signed checkpoint (run it from cron, every few minutes)."""
    if every is not None:
        seal_every(every, stop=lambda: False)
        return
    if not seal_once(adopt_legacy):
        sys.exit(1)


def seal_once(adopt_legacy: bool = False) -> bool:
    """One seal, committed and anchored, its outcome printed; False when tampering stopped it."""
    config, sealed = current_app.config, 0
    legacy_upto = operations.legacy_boundary() if adopt_legacy else None
    while True:  # a checkpoint holds at most PORTAL_LEDGER_CHECKPOINT_MAX_EVENTS: seal until none is left
        try:
            checkpoint = operations.seal(config["PORTAL_LEDGER_SEAL_GRACE"], legacy_upto=legacy_upto,
                                         max_events=config["PORTAL_LEDGER_CHECKPOINT_MAX_EVENTS"])
        except operations.LedgerTampered as error:
            db.session.rollback()
            click.echo(f"LEDGER TAMPERED, {'nothing' if not sealed else 'nothing more'} sealed: {error}", err=True)
            anchors.publish()
            return False
        db.session.commit()
        if checkpoint is None:
            break
        sealed += 1
        click.echo(f"checkpoint {checkpoint.seq}: events {checkpoint.first_event_id}.."
                   f"{checkpoint.last_event_id} ({checkpoint.event_count}), signed by {checkpoint.key_id}")
    anchors.publish()
    if not sealed:
        click.echo("nothing new to seal")
    return True


def seal_every(seconds: float, stop) -> None:
    """Seal every ``seconds`` until ``stop()`` is true; tampering is reported and tried again later."""
    while not stop():
        try:
            seal_once()
        except SQLAlchemyError as error:  # the database went away: try again next round
            db.session.rollback()
            click.echo(f"ledger seal: database error, retrying: {error}", err=True)
        db.session.remove()
        wait(stop, seconds)


@cli.command("keygen")
@click.option("--signing", "signing_path", type=click.Path(dir_okay=False), help="Write a new signing key here.")
@click.option("--hmac", "hmac_path", type=click.Path(dir_okay=False), help="Write a new HMAC key here.")
def keygen_command(signing_path: str | None, hmac_path: str | None) -> None:
    """Write new ledger key files (never over an existing file); print the signing key's id."""
    if not signing_path and not hmac_path:
        raise click.UsageError("give --signing PATH, --hmac PATH or both")
    for path in filter(None, (signing_path, hmac_path)):
        if os.path.exists(path):
            raise click.UsageError(f"{path} exists: a ledger key is never overwritten")
    if hmac_path:
        keys.generate_hmac_key(hmac_path)
        click.echo(f"HMAC key written to {hmac_path}")
    if signing_path:
        key = keys.generate_signing_key(signing_path)
        click.echo(f"signing key {keys.key_id_of(key.public_key())} written to {signing_path}")


commands = [cli]
