"""Factories for test data: each builds through the real operations and commits."""
from __future__ import annotations

from portal.accounts import operations as accounts
from portal.consent.operations import record
from portal.db import utcnow
from portal.extensions import db
from portal.subscriptions import operations as subscriptions
from portal.subscriptions.models import Subscription, SubscriptionStatus

_counter = {"n": 0}


def _n() -> int:
    _counter["n"] += 1
    return _counter["n"]


def create_account(**overrides):
    """An active account with a postal address."""
    values = {"name": f"Account {_n()}", "postal_address": "Jl. Merdeka 1, Bandung 40111, Indonesia",
              "contact_email": f"owner{_n()}@customer.example", "locale": "en"}
    values.update(overrides)
    account = accounts.create_account(**values)
    db.session.commit()
    return account


def create_list(account=None, **overrides):
    """A list (of a new account unless one is given)."""
    account = account or create_account()
    mailing_list = subscriptions.create_list(account, name=overrides.pop("name", f"List {_n()}"), **overrides)
    db.session.commit()
    return mailing_list


def create_form(account=None, lists=None, **overrides):
    """A signup form for the given lists (a new list of ``account`` unless given)."""
    lists = lists or [create_list(account)]
    form = subscriptions.create_form(_account_of(lists[0]), name=overrides.pop("name", "Signup"),
                                     list_ids=[item.id for item in lists], **overrides)
    db.session.commit()
    return form


def create_contact(account=None, email=None, **overrides):
    """A contact of an account."""
    account = account or create_account()
    contact = subscriptions.get_or_create_contact(account, email or f"person{_n()}@example.org", **overrides)
    db.session.commit()
    return contact


def create_subscription(contact=None, mailing_list=None, status=SubscriptionStatus.CONFIRMED, **overrides):
    """A subscription in the given state, with a matching ledger event when confirmed."""
    if mailing_list is None:
        mailing_list = create_list(account=None if contact is None else _account_of(contact))
    if contact is None:
        contact = create_contact(_account_of(mailing_list))
    now = utcnow()
    subscription = Subscription(contact_id=contact.id, list_id=mailing_list.id, status=status,
                                requested_at=now,
                                confirmed_at=now if status == SubscriptionStatus.CONFIRMED else None)
    for name, value in overrides.items():
        setattr(subscription, name, value)
    db.session.add(subscription)
    db.session.flush()
    if status == SubscriptionStatus.CONFIRMED:
        record("confirmed", contact=contact, list_id=mailing_list.id, source="test")
    db.session.commit()
    return subscription


def create_api_key(scope="platform", account=None):
    """An API key; returns (key row, secret)."""
    key, secret = accounts.create_api_key(scope=scope, account_id=account.id if account else None)
    db.session.commit()
    return key, secret


def create_webhook(account_id: str, *events: str, url: str = "https://hooks.example/in"):
    """A webhook endpoint of the account for ``events`` (its deliveries are queued outbox rows)."""
    from portal.webhooks import operations as webhooks

    endpoint = webhooks.create_endpoint(account_id, url=url, events=list(events))
    db.session.commit()
    return endpoint


def _account_of(row):
    """The account of a contact or a list."""
    from portal.accounts.models import Account

    return db.session.get(Account, row.account_id)


def create_deliveries(account, count: int, at=None, prefix: str = "m"):
    """``count`` delivered events of ``account`` at ``at`` (default now), recorded as
    ``POST .../deliveries`` records them (to addresses that are not contacts)."""
    from types import SimpleNamespace

    from portal.suppression.operations import record_events

    at = at or utcnow()
    tag = _n()
    events = [SimpleNamespace(email=f"r{tag}.{i}@recipients.example", message_id=f"<{prefix}{tag}.{i}@platform.test>",
                              type="delivered", at=at) for i in range(count)]
    for start in range(0, count, 5000):
        record_events(account, events[start:start + 5000])
    db.session.commit()
