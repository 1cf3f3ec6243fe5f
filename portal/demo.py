"""``flask demo``: a demo account, list and form for a newcomer's first run."""
from __future__ import annotations

import click
from sqlalchemy import select

from portal.accounts.operations import create_account
from portal.extensions import db
from portal.subscriptions import operations
from portal.subscriptions.models import Form


@click.command("demo")
def demo_command() -> None:
    """Create a demo account, list and form if there is no form yet; print the form's URL."""
    form = db.session.scalars(select(Form).order_by(Form.created_at)).first()
    if form is None:
        account = create_account(name="Demo Coffee Roasters",
                                 postal_address="Jl. Sudirman 1, Jakarta 10220, Indonesia",
                                 contact_email="owner@demo.example")
        mailing_list = operations.create_list(account, name="Weekly news",
                                              description="Our roasts and offers, once a week.")
        form = operations.create_form(account, name="Newsletter", list_ids=[mailing_list.id])
        db.session.commit()
    click.echo(f"Demo signup form: {operations.hosted_url(form)}")
