"""``flask demo``: a demo account, list and form for a newcomer's first run, and a key to try the API."""
from __future__ import annotations

import json

import click
from flask import current_app
from sqlalchemy import select

from portal.accounts.models import ApiKey
from portal.accounts.operations import create_account, create_api_key, revoke_api_key
from portal.extensions import db
from portal.subscriptions import operations
from portal.subscriptions.models import Form

#: The name of the platform key ``demo`` makes; each run revokes the one before.
DEMO_KEY_NAME = "demo"


def demo_form() -> Form:
    """The first form there is, made (with its account and list) when there is none."""
    form = db.session.scalars(select(Form).order_by(Form.created_at)).first()
    if form is None:
        account = create_account(name="Demo Coffee Roasters",
                                 postal_address="Jl. Sudirman 1, Jakarta 10220, Indonesia",
                                 contact_email="owner@demo.example")
        mailing_list = operations.create_list(account, name="Weekly news",
                                              description="Our roasts and offers, once a week.")
        form = operations.create_form(account, name="Newsletter", list_ids=[mailing_list.id])
    return form


def demo_key() -> str:
    """A new platform key named ``demo``; earlier demo keys are revoked (a secret is shown only once)."""
    for old in db.session.scalars(select(ApiKey).where(ApiKey.name == DEMO_KEY_NAME,
                                                       ApiKey.revoked_at.is_(None))):
        revoke_api_key(old)
    _key, secret = create_api_key(scope="platform", name=DEMO_KEY_NAME)
    return secret


def urls(form: Form) -> dict:
    """The newcomer's URLs: the hosted form, and in development the demo site and dev inbox."""
    base = current_app.config["PORTAL_BASE_URL"]
    found = {"hosted_form": operations.hosted_url(form), "api_docs": f"{base}/api/v1/docs"}
    if current_app.config["PORTAL_DEVELOPMENT"]:
        from portal.dev import site

        found["demo_site"] = site.url()
        if not current_app.config.get("MAIL_SERVER"):
            found["dev_inbox"] = f"{base}/_dev/mail"
    return found


def summary(answer: dict) -> str:
    """The short block ``make run`` ends with."""
    lines = [f"Consent portal: {current_app.config['PORTAL_BASE_URL']}"]
    labels = (("hosted_form", "hosted form"), ("demo_site", "demo customer page"),
              ("dev_inbox", "dev inbox"), ("api_docs", "API docs"))
    lines += [f"  {label:<19} {answer['urls'][name]}" for name, label in labels if name in answer["urls"]]
    lines.append(f"  {'platform key':<19} {answer['platform_key']}")
    lines.append(f"  {'try':<19} curl -H 'Authorization: Bearer {answer['platform_key']}' "
                 f"{current_app.config['PORTAL_BASE_URL']}/api/v1/accounts")
    return "\n".join(lines)


@click.command("demo")
@click.option("--json", "as_json", is_flag=True,
              help="Print {account_id, list_id, form_id, platform_key, urls} as one JSON object.")
def demo_command(as_json: bool) -> None:
    """Create a demo account, list and form if there is no form yet; print its URLs and a new platform key.

    Each run makes a new platform key named "demo" and revokes the previous one. In development
    (PORTAL_DEVELOPMENT) the form also accepts the demo customer site as an origin.
    """
    form = demo_form()
    if current_app.config["PORTAL_DEVELOPMENT"]:
        from portal.dev import site

        site.adopt(form)
    answer = {"account_id": form.account_id, "list_id": form.lists[0].id, "form_id": form.id,
              "platform_key": demo_key(), "urls": urls(form)}
    db.session.commit()
    click.echo(json.dumps(answer) if as_json else summary(answer))
