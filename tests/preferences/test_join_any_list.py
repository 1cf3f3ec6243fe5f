"""Joining any list open for signup from the preference centre, by double opt-in only (issue 20).

Ticking a list queues a confirmation mail to the address; nothing changes until its button is
pressed. Tried as the person (with cookies blocked, in both languages) and as the customer would,
with the links its account key mints.
"""
import re

import pytest

from portal.consent.models import EventType
from portal.subscriptions.models import SubscriptionStatus
from portal.suppression import operations as suppressions
from tests.conftest import outbox
from tests.pagetools import form_to, refusal
from tests.subscriptions.helpers import confirm_path, subscription_of

#: The page's words for a list that can be joined, in each language.
TICK_TO_JOIN = {"en": "Tick it to join: we will send you an email to confirm.",
                "id": "Centang untuk bergabung: kami akan mengirimi Anda email untuk konfirmasi."}
#: Its words after the save that asked for a list.
SENDING = {"en": "we are sending a confirmation link to your address",
           "id": "kami mengirimkan tautan konfirmasi ke alamat Anda"}


def _path(url: str) -> str:
    return url.replace("https://portal.test", "")


def _mails_to(person) -> list:
    return outbox("confirmation", recipient=person.contact.email)


def _save(client, path: str, lists: list[str], lang: str = "en"):
    """GET the centre, then POST its own form with ``lists`` ticked; the answer."""
    action, fields = form_to(client.get(path, query_string={"lang": lang}).get_data(as_text=True), "/preferences/")
    return client.post(action, data={**fields, "lists": lists, "save": "1"})


def _press_confirm(client, mail, ip="198.51.100.7"):
    path = confirm_path(mail)
    _action, fields = form_to(client.get(path).get_data(as_text=True), "/confirm/")
    return client.post(path, data=fields, environ_base={"REMOTE_ADDR": ip}, follow_redirects=False)


def _send_check(client, auth, person, list_id) -> str:
    response = client.post(f"/api/v1/accounts/{person.contact.account_id}/send-check", headers=auth,
                           json={"list_id": list_id, "emails": [person.contact.email]})
    return response.json["results"][0]["reason"]


@pytest.fixture
def joinable(subscriber, create_form):
    """A confirmed person and a list of the same account they were never on, offered by a form."""
    person = subscriber()
    [never] = create_form(person.subscription.list.account).lists
    return person, never


@pytest.mark.parametrize("lang", ["en", "id"])
def test_ticking_a_list_never_joined_mails_a_confirmation_and_only_its_button_joins(lang, cookieless, joinable):
    person, never = joinable
    page = cookieless.get(person.preferences_path, query_string={"lang": lang}).get_data(as_text=True)
    assert re.search(rf'value="{never.id}"\s*aria-describedby', page) and TICK_TO_JOIN[lang] in page
    answer = _save(cookieless, person.preferences_path, [person.list_id, never.id], lang)
    assert answer.status_code == 200 and SENDING[lang] in answer.get_data(as_text=True)
    [mail] = _mails_to(person)
    assert never.name in mail.payload["text"]
    # Asked, not joined: the list waits for the person's own confirmation.
    assert subscription_of(person.contact.id, never.id).status == SubscriptionStatus.PENDING
    assert person.status == SubscriptionStatus.CONFIRMED
    [requested] = person.events(EventType.SIGNUP_REQUESTED)
    assert (requested.list_id, requested.source, requested.actor) == (never.id, "preferences", "person")
    assert [e.list_id for e in person.events(EventType.CONFIRMATION_SENT)] == [never.id]
    assert [e.list_id for e in person.events(EventType.CONFIRMED)] == [person.list_id]  # the factory's own
    assert _press_confirm(cookieless, mail).status_code == 303
    assert subscription_of(person.contact.id, never.id).status == SubscriptionStatus.CONFIRMED
    # A list joined anew is "confirmed" (not "resubscribed"), with the confirmation's evidence, by the person.
    [event] = [e for e in person.events(EventType.CONFIRMED) if e.list_id == never.id]
    assert event.actor == "person" and event.ip == "198.51.100.7"
    assert event.source.startswith("signup_request:") and event.evidence["request_source"] == "preferences"
    assert person.events(EventType.RESUBSCRIBED) == []


def test_an_account_key_minting_links_and_ticking_only_queues_a_mail_to_the_person(cookieless, joinable,
                                                                                   account_auth):
    person, never = joinable
    auth = account_auth(person.subscription.list.account)
    minted = cookieless.post(f"/api/v1/accounts/{person.contact.account_id}/unsubscribe-links", headers=auth,
                             json={"list_id": person.list_id, "recipients": [{"email": person.contact.email}]})
    path = _path(minted.json["recipients"][0]["preferences_url"])
    assert _save(cookieless, path, [person.list_id, never.id]).status_code == 200
    # Nothing joined: the list is pending, send-check refuses it, no confirmation in the ledger.
    assert subscription_of(person.contact.id, never.id).status == SubscriptionStatus.PENDING
    assert _send_check(cookieless, auth, person, never.id) == "pending"
    assert [e for e in person.events(EventType.CONFIRMED) if e.list_id == never.id] == []
    # The only thing it did: a confirmation mail to the person's own address, nowhere else.
    assert [m.recipient for m in outbox("confirmation")] == [person.contact.email]
    # Posting again changes nothing more: the list waits, no second mail, still nothing joined.
    assert _save(cookieless, path, [person.list_id, never.id]).status_code == 200
    assert len(_mails_to(person)) == 1 and _send_check(cookieless, auth, person, never.id) == "pending"


def test_a_pending_list_unticked_cancels_and_ticked_again_asks_again(cookieless, joinable):
    person, never = joinable
    _save(cookieless, person.preferences_path, [person.list_id, never.id])
    [first] = _mails_to(person)
    first_form = form_to(cookieless.get(confirm_path(first)).get_data(as_text=True), "/confirm/")
    page = cookieless.get(person.preferences_path).get_data(as_text=True)
    assert re.search(rf'value="{never.id}"\s*checked', page) and "or untick it to cancel" in page
    _save(cookieless, person.preferences_path, [person.list_id])  # cancels the pending request
    assert subscription_of(person.contact.id, never.id).status == SubscriptionStatus.UNSUBSCRIBED
    page = cookieless.get(person.preferences_path).get_data(as_text=True)
    assert re.search(rf'value="{never.id}"\s*aria-describedby', page)  # still offered, not disabled
    _save(cookieless, person.preferences_path, [person.list_id, never.id])
    page = cookieless.get(person.preferences_path).get_data(as_text=True)
    assert re.search(rf'value="{never.id}"\s*checked', page)  # asked again: waiting, and can be cancelled again
    first_again, second = _mails_to(person)
    assert first_again.id == first.id and confirm_path(second) != confirm_path(first)
    # The cancelled request's link is dead; the new one joins.
    assert refusal(cookieless.get(confirm_path(first))) == (404, "invalid_link")
    assert refusal(cookieless.post(first_form[0], data=first_form[1])) == (404, "invalid_link")
    assert subscription_of(person.contact.id, never.id).status == SubscriptionStatus.PENDING
    assert _press_confirm(cookieless, second).status_code == 303
    assert subscription_of(person.contact.id, never.id).status == SubscriptionStatus.CONFIRMED
    assert person.suppressions() == []  # the cancellation's list entry went with the confirmation


def test_asking_again_stays_within_the_daily_cap_of_confirmation_mails(app, client, joinable):
    person, never = joinable
    app.config["PORTAL_CONFIRMATIONS_PER_DAY"] = 2
    for _ in range(2):
        _save(client, person.preferences_path, [person.list_id, never.id])
        _save(client, person.preferences_path, [person.list_id])
    answer = _save(client, person.preferences_path, [person.list_id, never.id])
    assert answer.status_code == 303 and "held=1" in answer.location and "asked=1" not in answer.location
    html = client.get(answer.location).get_data(as_text=True)
    assert "we did not send another" in html and "we are sending a confirmation link" not in html
    assert len(_mails_to(person)) == 2
    assert subscription_of(person.contact.id, never.id).status == SubscriptionStatus.UNSUBSCRIBED


def test_a_list_no_form_offers_is_not_open_to_someone_never_on_it(client, subscriber, create_list):
    person = subscriber()
    internal = create_list(person.subscription.list.account, name="Staff only")
    page = client.get(person.preferences_path).get_data(as_text=True)
    assert re.search(rf'value="{internal.id}"\s*disabled', page) and "This list is not open for signup." in page
    _save(client, person.preferences_path, [person.list_id, internal.id])
    assert _mails_to(person) == [] and person.events(EventType.SIGNUP_REQUESTED) == []
    assert [s.list_id for s in person.refresh().contact.subscriptions] == [person.list_id]


@pytest.mark.parametrize("scope", ["account", "list"])
def test_a_complaint_is_never_lifted_and_the_page_says_why(client, joinable, db, scope):
    person, never = joinable
    suppressions.add(person.contact.email, scope=scope, reason="complaint", account_id=person.contact.account_id,
                     list_id=never.id if scope == "list" else None)
    db.session.commit()
    page = client.get(person.preferences_path).get_data(as_text=True)
    assert re.search(rf'value="{never.id}"\s*disabled', page)
    assert "You reported email from this sender as unwanted" in page
    _save(client, person.preferences_path, [person.list_id, never.id])
    assert _mails_to(person) == [] and person.events(EventType.SIGNUP_REQUESTED) == []


def test_a_hard_bounce_or_the_customers_entry_blocks_joining_here(client, joinable, db):
    person, never = joinable
    suppressions.add(person.contact.email, scope="list", reason="hard_bounce", account_id=person.contact.account_id,
                     list_id=never.id)
    db.session.commit()
    page = client.get(person.preferences_path).get_data(as_text=True)
    assert re.search(rf'value="{never.id}"\s*disabled', page)
    assert "Email from this list cannot be sent to your address." in page
    _save(client, person.preferences_path, [person.list_id, never.id])
    assert _mails_to(person) == []
