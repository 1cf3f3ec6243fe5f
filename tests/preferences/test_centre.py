"""``/preferences/<token>``: every list with the person's own state; change them; leave all."""
import re

from portal import links
from portal.subscriptions.models import SubscriptionStatus
from tests.conftest import outbox
from tests.pagetools import csrf_token, refusal
from tests.subscriptions.helpers import confirm_path


def _save(client, person, lists, **extra):
    return client.post(person.preferences_path, data={"lists": lists, "save": "1", **extra})


def test_page_lists_every_list_of_the_account_and_the_data_links(client, subscriber, create_list, create_form):
    person = subscriber()
    never = create_list(person.subscription.list.account, name="Weekly deals")
    create_form(lists=[never])
    response = client.get(person.preferences_path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer" and response.headers["Cache-Control"] == "no-store"
    assert person.subscription.list.name in html and "Weekly deals" in html
    # Never joined: offered, but only through a confirmation mail.
    assert re.search(rf'value="{never.id}"\s*aria-describedby', html)
    assert "Tick it to join: we will send you an email to confirm." in html
    assert re.search(rf'value="{person.list_id}"\s*checked', html)
    token = person.preferences_path.rsplit("/", 1)[1]
    assert f"/preferences/{token}/data" in html and f"/preferences/{token}/erase" in html
    assert links.complaint_url(person.target) in html


def test_get_changes_nothing(client, subscriber):
    person = subscriber()
    client.get(person.preferences_path)
    assert person.status == SubscriptionStatus.CONFIRMED and person.events("unsubscribed") == []


def test_unticking_a_list_unsubscribes_from_it_only(client, subscriber):
    person = subscriber()
    second = subscriber(contact=person.contact)
    answer = _save(client, person, [second.list_id])
    assert answer.status_code == 303 and answer.location.endswith("?saved=1")  # Post/Redirect/Get
    assert person.status == SubscriptionStatus.UNSUBSCRIBED and second.status == SubscriptionStatus.CONFIRMED
    [event] = person.events("unsubscribed")
    assert event.source == "preferences" and event.list_id == person.list_id


def _confirm_mail(client, person):
    """Press the button of the newest confirmation mail to the person; the response."""
    [*_, message] = outbox("confirmation", recipient=person.contact.email)
    return client.post(confirm_path(message))


def test_ticking_a_list_left_before_only_mails_a_confirmation(client, subscriber):
    person = subscriber()
    _save(client, person, [])
    response = _save(client, person, [person.list_id])
    assert response.status_code == 303 and response.location.endswith("?saved=1&asked=1")
    assert "we are sending a confirmation link" in client.get(response.location).get_data(as_text=True)
    # Nothing is given back by the page itself: the list waits, the suppression stays.
    assert person.status == SubscriptionStatus.PENDING and person.events("resubscribed") == []
    assert [(e.scope, e.reason) for e in person.suppressions()] == [("list", "unsubscribed")]
    assert _confirm_mail(client, person).status_code == 303
    assert person.status == SubscriptionStatus.CONFIRMED and person.suppressions() == []
    [event] = person.events("resubscribed")
    assert event.source.startswith("signup_request:") and event.evidence["request_source"] == "preferences"
    assert event.actor == "person"


def test_d_8_a_list_never_confirmed_is_joined_only_by_a_confirmed_mail(client, subscriber, create_form):
    person = subscriber()
    [never] = create_form(person.subscription.list.account).lists
    pending_then_left = subscriber(contact=person.contact, status=SubscriptionStatus.PENDING)
    _save(client, person, [person.list_id, pending_then_left.list_id])  # keeps pending
    _save(client, person, [person.list_id])  # cancels the pending one
    assert pending_then_left.status == SubscriptionStatus.UNSUBSCRIBED
    _save(client, person, [person.list_id, never.id, pending_then_left.list_id])
    assert pending_then_left.status == SubscriptionStatus.PENDING
    person.refresh()
    assert {s.list_id: s.status for s in person.contact.subscriptions}[never.id] == SubscriptionStatus.PENDING
    _confirm_mail(client, person)
    person.refresh()
    assert {s.list_id: s.status for s in person.contact.subscriptions} == {
        person.list_id: "confirmed", never.id: "confirmed", pending_then_left.list_id: "confirmed"}


def test_d_6_unsubscribe_from_everything(client, subscriber):
    person = subscriber()
    second = subscriber(contact=person.contact)
    client.post(person.preferences_path, data={"lists": [person.list_id], "unsubscribe_all": "1"})
    assert person.status == second.status == SubscriptionStatus.UNSUBSCRIBED
    assert [(e.scope, e.reason) for e in person.suppressions()] == [("account", "unsubscribed")]


def test_rejoining_one_list_after_everything_keeps_the_others_suppressed(client, subscriber):
    person = subscriber()
    second = subscriber(contact=person.contact)
    client.post(person.preferences_path, data={"unsubscribe_all": "1"})
    _save(client, person, [second.list_id])
    assert second.status == SubscriptionStatus.PENDING
    assert [(e.scope, e.list_id) for e in person.suppressions()] == [("account", None)]
    _confirm_mail(client, person)
    assert second.status == SubscriptionStatus.CONFIRMED and person.status == SubscriptionStatus.UNSUBSCRIBED
    assert [(e.scope, e.list_id) for e in person.suppressions()] == [("list", person.list_id)]


def test_a_complaint_suppression_is_never_lifted_here(client, subscriber, db):
    from portal.suppression import operations as suppressions

    person = subscriber()
    _save(client, person, [])
    suppressions.add(person.contact.email, scope="account", reason="complaint", account_id=person.contact.account_id)
    db.session.commit()
    _save(client, person, [person.list_id])
    assert person.status == SubscriptionStatus.UNSUBSCRIBED


def test_the_form_needs_its_csrf_token(csrf_client, subscriber):
    person = subscriber()
    assert csrf_client.post(person.preferences_path, data={"unsubscribe_all": "1"}).status_code == 400
    assert person.status == SubscriptionStatus.CONFIRMED
    page = csrf_client.get(person.preferences_path).get_data(as_text=True)
    csrf_client.post(person.preferences_path, data={"unsubscribe_all": "1", "csrf_token": csrf_token(page)})
    assert person.status == SubscriptionStatus.UNSUBSCRIBED


def test_i_1_an_unsubscribe_token_is_not_a_preferences_token(client, subscriber):
    person = subscriber()
    token = person.path.rsplit("/", 1)[1]
    assert refusal(client.get(f"/preferences/{token}")) == (404, "invalid_link")
    assert refusal(client.post(f"/preferences/{token}", data={"unsubscribe_all": "1"})) == (404, "invalid_link")
    assert person.status == SubscriptionStatus.CONFIRMED
