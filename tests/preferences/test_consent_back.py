"""Only the person gives consent back: tried as the customer would, with links its key mints."""
from datetime import timedelta

import pytest

from portal.consent.models import EventType
from portal.subscriptions.models import SubscriptionStatus
from portal.tokens import make_token
from tests.conftest import outbox
from tests.pagetools import form_to, refusal
from tests.subscriptions.helpers import confirm_path

ONE_CLICK = "List-Unsubscribe=One-Click"


def _path(url: str) -> str:
    return url.replace("https://portal.test", "")


def _minted(client, auth, person) -> dict:
    """The links the customer's account key gets for the person (as for any send)."""
    response = client.post(f"/api/v1/accounts/{person.contact.account_id}/unsubscribe-links", headers=auth,
                           json={"list_id": person.list_id, "recipients": [{"email": person.contact.email}]})
    assert response.status_code == 200
    return response.json["recipients"][0]


def _send_check(client, auth, person) -> str:
    response = client.post(f"/api/v1/accounts/{person.contact.account_id}/send-check", headers=auth,
                           json={"list_id": person.list_id, "emails": [person.contact.email]})
    return response.json["results"][0]["reason"]


def _mails_to(person) -> list:
    return outbox("confirmation", recipient=person.contact.email)


@pytest.fixture
def left(client, subscriber, account_auth):
    """A person who was confirmed and then unsubscribed, and the customer's key."""
    person = subscriber()
    client.post(person.path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert person.status == SubscriptionStatus.UNSUBSCRIBED
    return person, account_auth(person.subscription.list.account)


def test_an_account_key_minting_links_cannot_resubscribe_through_the_preference_centre(cookieless, left):
    person, auth = left
    links = _minted(cookieless, auth, person)
    path = _path(links["preferences_url"])
    action, fields = form_to(cookieless.get(path).get_data(as_text=True), "/preferences/")
    answer = cookieless.post(action, data={**fields, "lists": [person.list_id], "save": "1"})
    assert answer.status_code == 200
    # Nothing given back: the list waits for the person's own confirmation; send-check refuses.
    assert person.status == SubscriptionStatus.PENDING
    assert _send_check(cookieless, auth, person) != "ok"
    assert person.events(EventType.RESUBSCRIBED) == []
    assert [(e.scope, e.reason) for e in person.suppressions()] == [("list", "unsubscribed")]
    [mail] = _mails_to(person)  # the only way back: a mail to the person's own address
    # Only the mail's button gives it back, as "resubscribed" with that confirmation's evidence.
    done = cookieless.post(confirm_path(mail), data=form_to(
        cookieless.get(confirm_path(mail)).get_data(as_text=True), "/confirm/")[1],
        environ_base={"REMOTE_ADDR": "198.51.100.20"}, follow_redirects=False)
    assert done.status_code == 303
    assert person.status == SubscriptionStatus.CONFIRMED and _send_check(cookieless, auth, person) == "ok"
    [event] = person.events(EventType.RESUBSCRIBED)
    assert event.ip == "198.51.100.20" and event.evidence["request_source"] == "preferences"
    assert event.actor == "person"


def test_an_account_key_minting_links_cannot_undo_an_unsubscribe(cookieless, left):
    person, auth = left
    path = _path(_minted(cookieless, auth, person)["unsubscribe_url"])
    # The page the minted link opens offers no undo, and a made-up undo post is a dead link.
    assert "/undo" not in cookieless.get(path).get_data(as_text=True)
    _action, fields = form_to(cookieless.get(path).get_data(as_text=True), "/unsubscribe/")
    from portal.antiforgery import form_value

    with cookieless.application.test_request_context():
        valid_form = form_value("undo", path.rsplit("/", 1)[1])  # the undo form's own anti-forgery value
    for undo in ("", "garbage", None, make_token("undo", [person.contact.id, 10**9])):
        data = {"csrf_token": valid_form, **({"undo": undo} if undo is not None else {})}
        refused = cookieless.post(path + "/undo", data=data)
        assert refusal(refused) == (404, "invalid_link") and "This link is not valid" in refused.get_data(as_text=True), undo
        assert person.status == SubscriptionStatus.UNSUBSCRIBED
    # Another form's value (the unsubscribe form's) does not pass for the undo form's.
    wrong_form = cookieless.post(path + "/undo", data={"csrf_token": fields["csrf_token"], "undo": "garbage"})
    assert wrong_form.status_code == 400
    assert "could not check that this form came from our page" in wrong_form.get_data(as_text=True)
    assert person.events(EventType.RESUBSCRIBED) == [] and _mails_to(person) == []


def _unsubscribe_on_page(client, person, scope="list") -> str:
    action, fields = form_to(client.get(person.path).get_data(as_text=True), "/unsubscribe/")
    page = client.post(action, data={**fields, "scope": scope}, follow_redirects=True)
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_the_undo_token_works_once_within_its_window_on_its_own_page(cookieless, subscriber):
    person = subscriber()
    page = _unsubscribe_on_page(cookieless, person)
    action, fields = form_to(page, "/undo")
    assert cookieless.post(action, data=fields).status_code == 200
    assert person.status == SubscriptionStatus.CONFIRMED
    [event] = person.events(EventType.RESUBSCRIBED)
    assert event.actor == "person" and event.source == "link"
    # Replayed: the invalid-link page, nothing changed (even after leaving again).
    _unsubscribe_on_page(cookieless, person)
    replay = cookieless.post(action, data=fields)
    assert refusal(replay) == (404, "invalid_link") and "This link is not valid" in replay.get_data(as_text=True)
    assert person.status == SubscriptionStatus.UNSUBSCRIBED and len(person.events(EventType.RESUBSCRIBED)) == 1


def test_an_undo_token_of_another_event_or_person_changes_nothing(cookieless, subscriber):
    person, other = subscriber(), subscriber()
    mine = form_to(_unsubscribe_on_page(cookieless, person), "/undo")[1]
    theirs_page = _unsubscribe_on_page(cookieless, other)
    other_action, other_fields = form_to(theirs_page, "/undo")
    forged = cookieless.post(other_action, data={**other_fields, "undo": mine["undo"]})
    assert refusal(forged) == (404, "invalid_link") and "This link is not valid" in forged.get_data(as_text=True)
    # An earlier event of the same person, superseded by a later unsubscribe, is not undone either.
    second = subscriber(contact=person.contact)
    _unsubscribe_on_page(cookieless, second)
    stale = cookieless.post(second.path + "/undo",
                            data={"csrf_token": _undo_value(cookieless, second), "undo": mine["undo"]})
    assert refusal(stale) == (404, "invalid_link")
    assert person.status == other.status == second.status == SubscriptionStatus.UNSUBSCRIBED


def _undo_value(client, person) -> str:
    """The anti-forgery value of the undo form of ``person``'s link (it is the token's, not the event's)."""
    from portal.antiforgery import form_value

    with client.application.test_request_context():
        return form_value("undo", person.path.rsplit("/", 1)[1])


def test_after_the_window_the_undo_offers_a_confirmation_mail_and_changes_nothing(second_app, cookieless,
                                                                                    subscriber):
    person = subscriber()
    page = _unsubscribe_on_page(cookieless, person, scope="account")
    action, fields = form_to(page, "/undo")
    late = second_app(WTF_CSRF_ENABLED=True, PORTAL_UNDO_MAX_AGE=timedelta(seconds=-1)).test_client(use_cookies=False)
    expired = late.post(action, data=fields)
    html = expired.get_data(as_text=True)
    assert expired.status_code == 410 and "that time is over" in html
    assert person.status == SubscriptionStatus.UNSUBSCRIBED and person.events(EventType.RESUBSCRIBED) == []
    rejoin_action, rejoin_fields = form_to(html, "/rejoin")
    sent = late.post(rejoin_action, data=rejoin_fields, follow_redirects=True)
    assert sent.status_code == 200 and "Check your inbox" in sent.get_data(as_text=True)
    assert person.status == SubscriptionStatus.PENDING and person.events(EventType.RESUBSCRIBED) == []
    [mail] = _mails_to(person)
    confirm_fields = form_to(late.get(confirm_path(mail)).get_data(as_text=True), "/confirm/")[1]
    assert late.post(confirm_path(mail), data=confirm_fields).status_code == 303
    assert person.status == SubscriptionStatus.CONFIRMED
    assert {e.evidence.get("request_source") for e in person.events(EventType.RESUBSCRIBED)} == {"undo"}
    # A replayed confirmation of the re-subscription changes nothing more; once the person has
    # left again, it never re-subscribes, and its page says the link was used (issue 20).
    replay = late.post(confirm_path(mail), data=confirm_fields, follow_redirects=True)
    assert replay.status_code == 200 and "you are subscribed" in replay.get_data(as_text=True)
    assert len(person.events(EventType.RESUBSCRIBED)) == 1
    late.post(person.path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    after_leaving = late.post(confirm_path(mail), data=confirm_fields, follow_redirects=True)
    assert after_leaving.status_code == 200 and "already been used" in after_leaving.get_data(as_text=True)
    assert person.status == SubscriptionStatus.UNSUBSCRIBED and len(person.events(EventType.RESUBSCRIBED)) == 1


def test_the_undo_window_is_a_setting(app, subscriber, cookieless):
    assert app.config["PORTAL_UNDO_MAX_AGE"] == timedelta(minutes=15)
    person = subscriber()
    assert "for 15 minutes" in _unsubscribe_on_page(cookieless, person)


def test_the_expired_undo_and_the_rejoin_answer_the_same_whatever_the_state_of_the_address(second_app, cookieless,
                                                                                            subscriber):
    """Still out (a mail goes), back in by their own confirmation (none goes), left everything
    since (one goes): the pages are the same; only the person's inbox knows."""
    late = second_app(WTF_CSRF_ENABLED=True, PORTAL_UNDO_MAX_AGE=timedelta(seconds=-1)).test_client(use_cookies=False)
    person = subscriber()
    undo_action, undo_fields = form_to(_unsubscribe_on_page(cookieless, person), "/undo")
    expired = late.post(undo_action, data=undo_fields)
    rejoin_action, rejoin_fields = form_to(expired.get_data(as_text=True), "/rejoin")
    answers, mails = [], []

    def ask():
        undo_again = late.post(undo_action, data=undo_fields)
        sent = late.post(rejoin_action, data=rejoin_fields, follow_redirects=True)
        answers.append((undo_again.status_code, undo_again.get_data(), sent.status_code, sent.get_data()))
        mails.append(len(_mails_to(person)))

    ask()  # still unsubscribed
    [mail] = _mails_to(person)
    confirm_fields = form_to(late.get(confirm_path(mail)).get_data(as_text=True), "/confirm/")[1]
    assert late.post(confirm_path(mail), data=confirm_fields).status_code == 303
    assert person.status == SubscriptionStatus.CONFIRMED
    ask()  # back in, by their own confirmation
    _unsubscribe_on_page(late, person, scope="account")
    ask()  # left everything since
    assert answers[0][0] == 410 and answers[0][2] == 200 and b"Check your inbox" in answers[0][3]
    assert answers[1:] == [answers[0], answers[0]]
    assert mails == [1, 1, 2]  # the difference is in the person's inbox only
