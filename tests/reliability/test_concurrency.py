"""The same link clicked 50 times at once, and one address signed up in parallel: one state
change, one ledger event, one contact, no 500 (PostgreSQL: concurrent writers are real there)."""
from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from portal import links
from portal.consent.models import ConsentEvent, EventType
from portal.extensions import db
from portal.subscriptions.models import Contact, SignupRequest, Subscription, SubscriptionStatus
from tests.conftest import outbox
from tests.subscriptions.helpers import confirm_path, signup

CLICKS = 50


@pytest.fixture(autouse=True)
def _postgresql_only(backend):
    if backend != "postgresql":
        pytest.skip("concurrent writers are the PostgreSQL deployment (SQLite has one writer)")


def _at_once(app, count: int, call) -> Counter:
    """Run ``call(client)`` in ``count`` threads released together; the status codes."""
    barrier = threading.Barrier(count)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def run():
        client = app.test_client()
        try:
            barrier.wait(30)
            statuses.append(call(client).status_code)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    return Counter(statuses)


def _events(event_type: str) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(ConsentEvent).where(ConsentEvent.type == event_type))


def test_one_confirm_link_clicked_50_times_confirms_once(app, client, create_form):
    form = create_form()
    signup(client, form, "clicky@example.org")
    path = confirm_path(outbox()[0])
    statuses = _at_once(app, CLICKS, lambda c: c.post(path))
    assert statuses == Counter({303: CLICKS})  # each answered by a redirect to the result page
    assert _events(EventType.CONFIRMED) == 1
    (subscription,) = db.session.scalars(select(Subscription)).all()
    assert subscription.status == SubscriptionStatus.CONFIRMED


def test_one_unsubscribe_link_clicked_50_times_unsubscribes_once(app, create_subscription):
    subscription = create_subscription()
    path = links.unsubscribe_url(links.Target(subscription.contact_id, subscription.list_id, "<m@x>"))
    path = path.split("https://portal.test", 1)[1]
    statuses = _at_once(app, CLICKS, lambda c: c.post(path, data={"List-Unsubscribe": "One-Click"}))
    assert statuses == Counter({200: CLICKS})
    assert _events(EventType.UNSUBSCRIBED) == 1
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status == SubscriptionStatus.UNSUBSCRIBED


def test_parallel_signups_of_one_address_make_one_contact(app, create_form):
    form = create_form()
    form_id = form.id
    statuses = _at_once(app, 20, lambda c: c.post(f"/f/{form_id}", data={"email": "Race@Example.org"}))
    assert statuses == Counter({303: 20})
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 1
    assert db.session.scalar(select(func.count()).select_from(SignupRequest)) == 1
    assert _events(EventType.SIGNUP_REQUESTED) == 1
