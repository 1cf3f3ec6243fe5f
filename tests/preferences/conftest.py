"""Fixtures of the unsubscribe tests: a confirmed subscriber and their links (the CSRF clients are in tests/conftest.py)."""
from dataclasses import dataclass

import pytest

from portal import links
from portal.consent.operations import events_for_contact
from portal.extensions import db as _db
from portal.subscriptions.models import Subscription
from portal.suppression import operations as suppressions


@dataclass
class Subscriber:
    """A contact confirmed on one list of an account, with the links of one message."""

    subscription: Subscription
    message_ref: str = "<msg-1@platform.example>"

    @property
    def contact(self):
        return self.subscription.contact

    @property
    def list_id(self) -> str:
        return self.subscription.list_id

    @property
    def target(self) -> links.Target:
        return links.Target(self.contact.id, self.list_id, self.message_ref)

    @property
    def path(self) -> str:
        return _path(links.unsubscribe_url(self.target))

    @property
    def preferences_path(self) -> str:
        return _path(links.preferences_url(self.target))

    def refresh(self):
        _db.session.expire_all()
        return self

    @property
    def status(self) -> str:
        self.refresh()
        return _db.session.get(Subscription, self.subscription.id).status

    def events(self, type_: str | None = None) -> list:
        self.refresh()
        return [e for e in events_for_contact(self.contact.id) if type_ is None or e.type == type_]

    def suppressions(self) -> list:
        self.refresh()
        return suppressions.entries_for(self.contact.email, self.contact.account_id)


def _path(url: str) -> str:
    return url.replace("https://portal.test", "")


@pytest.fixture
def subscriber(create_subscription):
    """A factory of confirmed subscribers (new account unless a list is given)."""
    def make(mailing_list=None, contact=None, **kwargs):
        return Subscriber(create_subscription(contact=contact, mailing_list=mailing_list, **kwargs))
    return make
