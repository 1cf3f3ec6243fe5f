"""Helpers shared by the signup and double-opt-in tests."""
from __future__ import annotations

import re

from sqlalchemy import select

from portal.consent.models import ConsentEvent
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.subscriptions.models import Subscription

CONFIRM_LINK = re.compile(r"https://portal\.test(/confirm/[A-Za-z0-9._-]+)")


def signup(client, form, email="ann@example.org", *, headers=None, environ_base=None, **fields):
    """POST the hosted form (``fields`` are more form fields); the response."""
    return client.post(f"/f/{form.id}", data={"email": email, **fields}, headers=headers or {},
                       environ_base=environ_base or {})


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
