"""Imports refuse whoever left everything of the account: after an opt-out, only the person's own
completed double opt-in brings consent back. Each bypass tried as the customer would: its own
form, the preference centre of a link its key mints, a list made after the person left."""
from datetime import timedelta

import pytest

from portal.db import utcnow
from portal.extensions import db
from portal.privacy import operations as privacy
from portal.subscriptions.models import SubscriptionStatus
from portal.subscriptions.operations import find_contact
from tests.conftest import outbox
from tests.pagetools import form_to
from tests.preferences.conftest import Subscriber, subscriber  # noqa: F401 (fixture)
from tests.subscriptions.helpers import confirm_path, subscription_of

ONE_CLICK = "List-Unsubscribe=One-Click"
LEFT = "unsubscribed from every list of this account"
LEFT_EVERYTHING = "left everything from this sender"


def _day() -> str:
    return (utcnow() - timedelta(days=3)).date().isoformat()


def _path(url: str) -> str:
    return url.replace("https://portal.test", "")


@pytest.fixture
def left_alone(client, subscriber):
    """A person confirmed on their only list who then one-clicked out of it."""
    person = subscriber()
    client.post(person.path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert person.status == SubscriptionStatus.UNSUBSCRIBED
    return person


@pytest.fixture
def refused_into_new_list(upload, create_list, client, account_auth):
    """A function: import the person (attested double opt-in, with its date) into a new list of
    their account; assert it is refused with ``detail`` and that send-check does not say ``ok``."""
    def check(person, detail=LEFT):
        account = person.subscription.list.account
        new_list = create_list(account)
        report = upload(new_list, f"email,consented_at\n{person.contact.email},{_day()}\n").json
        assert report["accepted"] == 0, report
        assert [(row["reason"], row["detail"]) for row in report["refused_rows"]] == [("suppressed", detail)]
        reason = client.post(f"/api/v1/accounts/{account.id}/send-check", headers=account_auth(account),
                             json={"list_id": new_list.id, "emails": [person.contact.email]}).json
        assert reason["results"][0]["reason"] == "not_subscribed"
    return check


def _minted_preferences(client, auth, person) -> str:
    response = client.post(f"/api/v1/accounts/{person.contact.account_id}/unsubscribe-links", headers=auth,
                           json={"list_id": person.list_id, "recipients": [{"email": person.contact.email}]})
    return _path(response.json["recipients"][0]["preferences_url"])


def test_a_pending_signup_the_customer_posted_to_its_own_form_does_not_count_as_staying(
        client, left_alone, create_form, refused_into_new_list):
    person = left_alone
    form = create_form(account=person.subscription.list.account, lists=[person.subscription.list])
    client.post(f"/f/{form.id}", data={"email": person.contact.email})
    assert person.status == SubscriptionStatus.PENDING
    refused_into_new_list(person)


def test_ticking_the_left_list_in_a_minted_preference_centre_does_not_count_as_staying(
        cookieless, left_alone, account_auth, refused_into_new_list):
    person = left_alone
    path = _minted_preferences(cookieless, account_auth(person.subscription.list.account), person)
    action, fields = form_to(cookieless.get(path).get_data(as_text=True), "/preferences/")
    assert cookieless.post(action, data={**fields, "lists": [person.list_id], "save": "1"}).status_code == 200
    assert person.status == SubscriptionStatus.PENDING
    refused_into_new_list(person)


def test_a_signup_the_person_declined_does_not_count_as_staying(client, left_alone, create_form,
                                                               refused_into_new_list):
    person = left_alone
    form = create_form(account=person.subscription.list.account)
    client.post(f"/f/{form.id}", data={"email": person.contact.email})
    [mail] = [m for m in outbox() if m.kind == "confirmation"]
    assert client.post(confirm_path(mail), data={"decline": "1"}).status_code == 303
    refused_into_new_list(person)


def test_a_bounced_subscription_does_not_count_as_staying(client, subscriber, platform_auth, account_auth,
                                                          refused_into_new_list):
    person = subscriber()
    other = subscriber(contact=person.contact)
    client.post(person.path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    account = person.subscription.list.account
    client.post(f"/api/v1/accounts/{account.id}/deliveries", headers=platform_auth, json={"events": [
        {"email": person.contact.email, "type": "hard_bounce", "message_id": "<b1@platform>",
         "at": utcnow().isoformat()}]})
    assert other.status == SubscriptionStatus.BOUNCED
    # The customer may lift a bounce (it is its own kind): the person still left the one list they chose.
    lifted = client.delete(f"/api/v1/accounts/{account.id}/suppressions/{person.contact.email}?reason=fixed",
                           headers=account_auth(account))
    assert lifted.status_code == 200
    refused_into_new_list(person)


def test_a_list_made_after_the_person_left_everything_is_covered_by_that_opt_out(
        cookieless, subscriber, create_form, create_list, upload, refused_into_new_list):
    """Everything means everything, lists made later included: the person's later confirmation of
    one list gives back that list only."""
    person = subscriber()
    account = person.subscription.list.account
    action, fields = form_to(cookieless.get(person.path).get_data(as_text=True), "/unsubscribe/")
    cookieless.post(action, data={**fields, "scope": "account"})
    form = create_form(account=account)
    cookieless.post(f"/f/{form.id}", data={"email": person.contact.email})
    [mail] = [m for m in outbox() if m.kind == "confirmation"]
    confirm_fields = form_to(cookieless.get(confirm_path(mail)).get_data(as_text=True), "/confirm/")[1]
    assert cookieless.post(confirm_path(mail), data=confirm_fields, follow_redirects=False).status_code == 303
    refused_into_new_list(person, LEFT_EVERYTHING)


def test_an_erased_person_who_signed_up_again_for_one_list_is_not_imported_into_others(
        client, subscriber, create_form, refused_into_new_list):
    person = subscriber()
    email = person.contact.email
    privacy.erase_contact(person.contact, source="erase_link")
    db.session.commit()
    form = create_form(account=person.subscription.list.account)
    client.post(f"/f/{form.id}", data={"email": email})
    [mail] = [m for m in outbox() if m.kind == "confirmation"]
    assert client.post(confirm_path(mail)).status_code == 303
    again = Subscriber(subscription_of(find_contact(form.account_id, email).id, form.lists[0].id))
    assert again.status == SubscriptionStatus.CONFIRMED and again.contact.id != person.contact.id
    refused_into_new_list(again, LEFT_EVERYTHING)


def test_one_who_undid_leaving_everything_in_time_is_not_counted_as_gone(cookieless, subscriber, create_list,
                                                                          upload):
    person = subscriber()
    action, fields = form_to(cookieless.get(person.path).get_data(as_text=True), "/unsubscribe/")
    page = cookieless.post(action, data={**fields, "scope": "account"}).get_data(as_text=True)
    undo_action, undo_fields = form_to(page, "/undo")
    assert cookieless.post(undo_action, data=undo_fields).status_code == 200
    assert person.status == SubscriptionStatus.CONFIRMED
    new_list = create_list(person.subscription.list.account)
    report = upload(new_list, f"email,consented_at\n{person.contact.email},{_day()}\n").json
    assert report["accepted"] == 1


def test_one_who_stays_confirmed_on_another_list_may_be_imported(client, subscriber, create_list, upload):
    """Leaving one list is not leaving everything: the customer's attested consent for a new list stands."""
    person = subscriber()
    subscriber(contact=person.contact)  # still confirmed on a second list
    client.post(person.path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    new_list = create_list(person.subscription.list.account)
    report = upload(new_list, f"email,consented_at\n{person.contact.email},{_day()}\n").json
    assert report["accepted"] == 1
