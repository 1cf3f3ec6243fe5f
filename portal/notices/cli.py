"""``flask notices ...``: publish a privacy notice version and list them."""
from __future__ import annotations

import getpass
import json
from datetime import datetime

import click
from flask.cli import AppGroup

from portal.accounts.models import Account
from portal.errors import PortalError
from portal.extensions import db
from portal.notices import operations  # also registers the mailing's loader and producer

cli = AppGroup("notices", help="Privacy notices (UU PDP Art. 21(2)).")


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        locale, sep, rest = value.partition("=")
        if not sep or not rest:
            raise click.BadParameter(f"{value!r}: give LOCALE=VALUE", param_hint=option)
        pairs[locale] = rest
    return pairs


def _content(urls: tuple[str, ...], text_files: tuple[str, ...]) -> dict[str, dict]:
    content: dict[str, dict] = {}
    for locale, url in _pairs(urls, "--url").items():
        content.setdefault(locale, {})["url"] = url
    for locale, path in _pairs(text_files, "--text-file").items():
        with open(path, encoding="utf-8") as source:
            content.setdefault(locale, {})["text"] = source.read().strip()
    return content


@cli.command("publish")
@click.option("--account", "account_id", help="The account (default: the platform's own notice).")
@click.option("--effective-at", required=True, help="When it takes effect (ISO 8601 with a zone).")
@click.option("--url", "urls", multiple=True, help="LOCALE=URL where the version is published (repeatable).")
@click.option("--text-file", "text_files", multiple=True, help="LOCALE=PATH of its text (repeatable).")
@click.option("--actor", default=lambda: f"operator:{getpass.getuser()}", show_default="operator:$USER",
              help="Who publishes.")
@click.option("--json", "as_json", is_flag=True, help="Print the version as JSON.")
def publish_command(account_id, effective_at, urls, text_files, actor, as_json) -> None:
    """Publish a new privacy notice version; its confirmed contacts are mailed before it takes effect."""
    try:
        when = datetime.fromisoformat(effective_at.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{effective_at!r} is not an ISO 8601 time", param_hint="--effective-at") from None
    if when.tzinfo is None:
        raise click.BadParameter("give the time zone (2027-01-01T00:00:00+07:00, or Z)", param_hint="--effective-at")
    account = db.session.get(Account, account_id) if account_id else None
    if account_id and account is None:
        raise click.BadParameter(f"no account {account_id!r}", param_hint="--account")
    try:
        notice = operations.publish(account, effective_at=when, content=_content(urls, text_files), published_by=actor)
    except PortalError as error:
        raise click.ClickException(f"{error.code}: {error.message}") from None
    db.session.commit()
    document = operations.serialize(notice)
    if as_json:
        click.echo(json.dumps(document))
    else:
        click.echo(f"privacy notice version {notice.version} ({notice.id}) in effect from {document['effective_at']}; "
                   f"{document['mailing']['recipients']} notice mails, the last due {document['mailing']['last_at']}")


@cli.command("list")
@click.option("--account", "account_id", help="The account (default: the platform's).")
@click.option("--json", "as_json", is_flag=True, help="Print {\"items\": [...]}.")
def list_command(account_id, as_json) -> None:
    """The versions of a privacy notice, oldest first."""
    items = [operations.serialize(n) for n in db.session.scalars(operations.notices_of(account_id).order_by("id"))]
    if as_json:
        click.echo(json.dumps({"items": items}))
        return
    for item in items:
        click.echo(f"{item['id']}  v{item['version']}  from {item['effective_at']}  {item['mailing']['status'] if item['mailing'] else ''}"
                   f"  {item['url']}")


commands = [cli]
