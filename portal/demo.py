"""``flask demo``: a demo account, list and form for a newcomer's first run, and a key to try the API."""
from __future__ import annotations

import json

import click
from flask import current_app
from sqlalchemy import select

from portal.accounts.models import Account, ApiKey
from portal.accounts.operations import create_account, create_api_key, revoke_api_key
from portal.extensions import db
from portal.subscriptions import operations
from portal.subscriptions.models import Form

#: The name of the platform key ``demo`` makes; each run revokes the one before.
DEMO_KEY_NAME = "demo"


def demo_account() -> Account | None:
    """The account ``flask demo`` made (marked ``demo``), or None before its first run."""
    return db.session.scalars(select(Account).where(Account.demo.is_(True)).order_by(Account.created_at)).first()


def demo_form() -> Form | None:
    """The demo account's first form, or None: never another account's form."""
    account = demo_account()
    if account is None:
        return None
    return db.session.scalars(select(Form).where(Form.account_id == account.id).order_by(Form.created_at)).first()


def make_demo_form() -> Form:
    """The demo form, made (with its account, marked ``demo``, and its list) when there is none."""
    form = demo_form()
    if form is not None:
        return form
    account = demo_account()
    if account is None:
        account = create_account(name="Demo Coffee Roasters", postal_address="Jl. Sudirman 1, Jakarta 10220, Indonesia",
                                 contact_email="owner@demo.example")
        account.demo = True
    # The customer's words in both languages, as a customer gives them through the API (issue 20).
    mailing_list = operations.create_list(
        account, name="Weekly news", description="Our roasts and offers, once a week.",
        translations={"id": {"name": "Kabar mingguan", "description": "Kopi sangrai terbaru dan penawaran kami, "
                                                                      "seminggu sekali."}})
    return operations.create_form(
        account, name="Newsletter", list_ids=[mailing_list.id], heading="Fresh from the roaster, once a week",
        translations={"id": {"heading": "Segar dari sangrai, seminggu sekali",
                              "consent_text": "Ya, kirimi saya email dari Demo Coffee Roasters. Saya dapat berhenti "
                                              "berlangganan kapan saja melalui tautan di setiap pesan."}})


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


def summary(answer: dict, warnings: list[str] | tuple = (), serving: bool = False) -> str:
    """The short block ``make run`` ends with: any warning first, then where everything is."""
    lines = [f"WARNING: {warning}" for warning in warnings]
    lines.append(f"Consent portal: {current_app.config['PORTAL_BASE_URL']}")
    labels = (("hosted_form", "hosted form"), ("demo_site", "demo customer page"),
              ("dev_inbox", "dev inbox"), ("api_docs", "API docs"))
    lines += [f"  {label:<19} {answer['urls'][name]}" for name, label in labels if name in answer["urls"]]
    lines.append(f"  {'platform key':<19} {answer['platform_key']}")
    lines.append(f"  {'try':<19} curl -H 'Authorization: Bearer {answer['platform_key']}' "
                 f"{current_app.config['PORTAL_BASE_URL']}/api/v1/accounts")
    if serving:
        lines.append("Listening. Press CTRL+C to stop.")
    return "\n".join(lines)


@click.command("demo")
@click.option("--json", "as_json", is_flag=True,
              help="Print {account_id, list_id, form_id, platform_key, urls} as one JSON object.")
@click.option("--serve", is_flag=True,
              help="Then serve the portal with the development server, printing the block once it listens "
                   "(what `make run` does).")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve: the address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535),
              help="With --serve: the port to listen on.")
def demo_command(as_json: bool, serve: bool, host: str, port: int) -> None:
    """Create the demo account, list and form unless they exist; print their URLs and a new platform key.

    The demo account is marked as such: another account's form is never used or changed. Each
    run makes a new platform key named "demo" and revokes the previous one. In development
    (PORTAL_DEVELOPMENT) the form also accepts the demo customer site as an origin.
    """
    form = make_demo_form()
    if current_app.config["PORTAL_DEVELOPMENT"]:
        from portal.dev import site

        site.adopt(form)
    answer = {"account_id": form.account_id, "list_id": form.lists[0].id, "form_id": form.id,
              "platform_key": demo_key(), "urls": urls(form)}
    db.session.commit()
    db.session.remove()
    if not serve:
        click.echo(json.dumps(answer) if as_json else summary(answer))
        return
    from portal.config import development_warnings
    from portal.dev.server import serve as serve_app

    warnings = development_warnings(current_app.config, host)
    text = json.dumps(answer) if as_json else summary(answer, warnings, serving=True)
    serve_app(current_app._get_current_object(), host, port,
              lambda: click.secho(text, fg="red" if warnings else None, bold=bool(warnings)))
