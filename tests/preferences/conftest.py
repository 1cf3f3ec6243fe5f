"""Fixtures of the unsubscribe tests: a confirmed subscriber, their links, a CSRF-enabled client."""
import re
from dataclasses import dataclass

import pytest

from portal import links
from portal.consent.operations import events_for_contact
from portal.extensions import db as _db
from portal.subscriptions.models import Subscription
from portal.suppression import operations as suppressions
from tests.conftest import make_app


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


@pytest.fixture
def csrf_client(app):
    """A client of a second app on the same database, with CSRF protection on (as in production),
    that follows redirects as a browser does (Post/Redirect/Get) unless told otherwise."""
    other = make_app(app.config["SQLALCHEMY_DATABASE_URI"], WTF_CSRF_ENABLED=True)
    client = other.test_client()
    original = client.open

    def open_following(*args, **kwargs):
        kwargs.setdefault("follow_redirects", True)
        return original(*args, **kwargs)

    client.open = open_following
    yield client
    with other.app_context():
        _db.engine.dispose()


def csrf_token(html: str) -> str:
    """The CSRF token of the first form of a page."""
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


@pytest.fixture
def cookieless(app):
    """A client of a second app on the same database, anti-forgery on, that never sends a cookie
    (as a browser that blocks them): every answer is also checked to set none; it follows
    redirects as a browser does (Post/Redirect/Get) unless told otherwise."""
    other = make_app(app.config["SQLALCHEMY_DATABASE_URI"], WTF_CSRF_ENABLED=True)
    client = other.test_client(use_cookies=False)
    original = client.open

    def open_without_cookies(*args, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        assert "Cookie" not in headers
        kwargs.setdefault("follow_redirects", True)
        response = original(*args, headers=headers, **kwargs)
        assert "Set-Cookie" not in response.headers, response.headers
        return response

    client.open = open_without_cookies
    client.application = other
    yield client
    with other.app_context():
        _db.engine.dispose()
