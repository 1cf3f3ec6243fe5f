"""Helpers shared by the signup and double-opt-in tests."""
from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import select

from portal.consent.models import ConsentEvent
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.subscriptions.models import Subscription
from tests.conftest import make_app

CONFIRM_LINK = re.compile(r"https://portal\.test(/confirm/[A-Za-z0-9._-]+)")


def signup(client, form, email="ann@example.org", *, headers=None, environ_base=None, **fields):
    """POST the hosted form (``fields`` are more form fields); the response."""
    return client.post(f"/f/{form.id}", data={"email": email, **fields}, headers=headers or {},
                       environ_base=environ_base or {})


def outbox() -> list[OutboxMessage]:
    """Every queued message, oldest first."""
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def confirm_path(message: OutboxMessage) -> str:
    """The confirmation link's path in a queued mail's text."""
    return CONFIRM_LINK.search(message.payload["text"]).group(1)


def event_types(contact_id: int) -> list[str]:
    """The ledger event types of a contact, oldest first."""
    return list(db.session.scalars(select(ConsentEvent.type).where(ConsentEvent.contact_id == contact_id)
                                   .order_by(ConsentEvent.seq)))


def subscription_of(contact_id: int, list_id: str) -> Subscription:
    db.session.expire_all()
    return db.session.scalars(select(Subscription).where(
        Subscription.contact_id == contact_id, Subscription.list_id == list_id)).one()


@contextmanager
def other_app(app, **config):
    """Another app on the test's database with ``config`` (a second worker, limits on...),
    its context pushed; its connections are closed on the way out.

    Read what you need of the test's rows (ids) before: touching an expired row of the test's
    session inside would borrow a connection of this app's engine.
    """
    other = make_app(app.config["SQLALCHEMY_DATABASE_URI"], PORTAL_OUTBOX_DIR=app.config["PORTAL_OUTBOX_DIR"],
                     **config)
    with other.app_context():
        try:
            yield other
        finally:
            db.session.remove()
            db.engine.dispose()
