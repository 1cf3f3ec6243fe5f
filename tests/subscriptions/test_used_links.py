"""A confirmation link already used answers with its own outcome, the same whatever the address
has done since (still subscribed, left, erased): it never subscribes again and tells nothing new."""
import re

import pytest
from sqlalchemy import func, select

from portal.consent.models import ConsentEvent
from portal.extensions import db
from portal.privacy import operations as privacy
from portal.subscriptions.models import Subscription, SubscriptionStatus
from portal.subscriptions.operations import find_contact
from tests.pagetools import form_to
from tests.preferences.conftest import cookieless  # noqa: F401 (fixture)
from tests.subscriptions.helpers import confirm_path, outbox

EMAIL = "ann@example.org"
ONE_CLICK = "List-Unsubscribe=One-Click"


def _state() -> tuple:
    """Every consent event and subscription state: a replay must leave both as they were."""
    db.session.expire_all()
    return (db.session.scalar(select(func.count(ConsentEvent.id))),
            sorted(db.session.execute(select(Subscription.id, Subscription.status)).all()))


def _answers(client, path: str, fields: dict) -> list[tuple[int, str]]:
    """The page of a GET, a confirm and a "No thanks" of the link, with nothing changed by them."""
    before = _state()
    answers = []
    for method, data in (("GET", None), ("POST", fields), ("POST", {**fields, "decline": "1"})):
        response = client.open(path, method=method, data=data)
        answers.append((response.status_code, _stable(response.get_data(as_text=True))))
    assert _state() == before
    return answers


def _stable(html: str) -> str:
    """The page without what changes on every request (CSP nonces)."""
    return re.sub(r'nonce="[^"]*"', "", html)


def _press(client, path: str, button: str = "confirm") -> dict:
    """Open a confirmation link and press a button; the form's fields (kept to replay them)."""
    fields = form_to(client.get(path).get_data(as_text=True), "/confirm/")[1]
    extra = {"decline": "1"} if button == "decline" else {}
    assert client.post(path, data={**fields, **extra}).status_code == 200
    return fields


def _unsubscribe(client, contact, list_id) -> None:
    from portal import links

    path = links.unsubscribe_url(links.Target(contact.id, list_id, None)).replace("https://portal.test", "")
    client.post(path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")


@pytest.fixture
def used_link(cookieless, create_form):
    """A person who confirmed through a form's mail: the link, its form fields, the form."""
    form = create_form(account=None)
    cookieless.post(f"/f/{form.id}", data={"email": EMAIL})
    path = confirm_path(outbox()[-1])
    return path, _press(cookieless, path), form


def test_a_used_link_answers_the_same_while_subscribed_after_leaving_and_after_erasure(cookieless, used_link):
    path, fields, form = used_link
    subscribed = _answers(cookieless, path, fields)
    assert [status for status, _page in subscribed] == [200, 200, 200]
    assert "Already confirmed" in subscribed[0][1] and form.lists[0].name in subscribed[0][1]
    assert "receipt" not in subscribed[0][1]  # the receipt tells the present state: not offered here
    contact = find_contact(form.account_id, EMAIL)
    _unsubscribe(cookieless, contact, form.lists[0].id)
    assert _answers(cookieless, path, fields) == subscribed
    assert db.session.get(Subscription, contact.subscriptions[0].id).status == SubscriptionStatus.UNSUBSCRIBED
    privacy.erase_contact(find_contact(form.account_id, EMAIL), source="erase_link")
    db.session.commit()
    assert _answers(cookieless, path, fields) == subscribed


def test_a_replayed_resubscription_confirmation_never_resubscribes(cookieless, create_subscription, create_list):
    """A re-subscription asked from the preference centre, confirmed, then left again: its link,
    replayed, shows what it did and changes nothing."""
    from portal import links

    mailing_list = create_list()
    subscription = create_subscription(mailing_list=mailing_list)
    contact_id, list_id = subscription.contact_id, mailing_list.id
    target = links.Target(contact_id, list_id, None)
    unsubscribe = links.unsubscribe_url(target).replace("https://portal.test", "")
    cookieless.post(unsubscribe, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    preferences = links.preferences_url(target).replace("https://portal.test", "")
    action, fields = form_to(cookieless.get(preferences).get_data(as_text=True), "/preferences/")
    cookieless.post(action, data={**fields, "lists": [list_id], "save": "1"})
    path = confirm_path(outbox()[-1])
    confirm_fields = _press(cookieless, path)
    back_in = _answers(cookieless, path, confirm_fields)
    assert "Already confirmed" in back_in[0][1]
    cookieless.post(unsubscribe, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert _answers(cookieless, path, confirm_fields) == back_in
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status == SubscriptionStatus.UNSUBSCRIBED


def test_a_declined_link_answers_its_own_no_whatever_came_after(cookieless, create_form):
    form = create_form()
    cookieless.post(f"/f/{form.id}", data={"email": EMAIL})
    declined_path = confirm_path(outbox()[-1])
    fields = _press(cookieless, declined_path, "decline")
    first = _answers(cookieless, declined_path, fields)
    assert [status for status, _page in first] == [200, 200, 200]
    assert "You will not be subscribed" in first[0][1]
    # The person signs up again later and confirms: the old "No thanks" link still says only that.
    cookieless.post(f"/f/{form.id}", data={"email": EMAIL})
    _press(cookieless, confirm_path(outbox()[-1]))
    assert _answers(cookieless, declined_path, fields) == first
    privacy.erase_contact(find_contact(form.account_id, EMAIL), source="erase_link")
    db.session.commit()
    assert _answers(cookieless, declined_path, fields) == first
