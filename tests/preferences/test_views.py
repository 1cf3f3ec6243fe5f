"""``/unsubscribe/<token>``: the safe GET page, RFC 8058 one-click POST, the person's form, undo."""
import re

import pytest
import requests

from portal import links
from portal.subscriptions.models import SubscriptionStatus
from tests.pagetools import csrf_token, refusal

ONE_CLICK = "List-Unsubscribe=One-Click"
#: RFC 8058 section 8.3, literally (malformed under RFC 2046: its delimiters lack the leading "--").
RFC8058_8_3_BODY = ("---FormBoundaryjWmhtjORrn\r\n"
                    'Content-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
                    "One-Click\r\n"
                    "---FormBoundaryjWmhtjORrn--\r\n")


def _one_click(client, path, **kwargs):
    kwargs.setdefault("data", ONE_CLICK)
    kwargs.setdefault("content_type", "application/x-www-form-urlencoded")
    return client.post(path, **kwargs)


def _assert_one_click_done(response, person):
    assert response.status_code == 200
    assert "Location" not in response.headers and "Set-Cookie" not in response.headers
    assert person.status == SubscriptionStatus.UNSUBSCRIBED
    [entry] = person.suppressions()
    assert (entry.scope, entry.list_id, entry.reason) == ("list", person.list_id, "unsubscribed")
    [event] = person.events("unsubscribed")
    assert (event.source, event.list_id, event.message_ref) == ("one_click", person.list_id, person.message_ref)


def test_a_ep_11_get_head_options_change_nothing(client, subscriber):
    person = subscriber()
    for _ in range(3):
        page = client.get(person.path)
        assert page.status_code == 200
        assert b'method="post"' in page.data
    assert client.head(person.path).status_code == 200
    assert client.options(person.path).status_code in (200, 204)
    assert person.status == SubscriptionStatus.CONFIRMED
    assert person.suppressions() == [] and person.events("unsubscribed") == []


def test_get_page_offers_the_choice_preferences_and_abuse_report(client, subscriber):
    person = subscriber()
    html = client.get(person.path).get_data(as_text=True)
    assert 'value="list"' in html and 'value="account"' in html
    assert links.preferences_url(person.target) in html and links.complaint_url(person.target) in html
    assert person.contact.email not in html  # the page never shows the address


def test_a_ep_1_urlencoded_one_click_without_cookie(client, subscriber):
    person = subscriber()
    response = _one_click(client, person.path, headers={"User-Agent": "GoogleMail-Unsub/1.0"},
                          environ_base={"REMOTE_ADDR": "203.0.113.7"})
    _assert_one_click_done(response, person)
    [event] = person.events("unsubscribed")
    assert (event.ip, event.user_agent) == ("203.0.113.7", "GoogleMail-Unsub/1.0")


def test_a_ep_2_multipart_one_click_as_requests_builds_it(client, subscriber):
    person = subscriber()
    prepared = requests.Request("POST", "https://portal.test" + person.path,
                                files={"List-Unsubscribe": (None, "One-Click")}).prepare()
    response = client.post(person.path, data=prepared.body, content_type=prepared.headers["Content-Type"])
    _assert_one_click_done(response, person)


def test_a_ep_3_malformed_rfc8058_example_body_still_unsubscribes(client, subscriber):
    person = subscriber()
    response = client.post(person.path, data=RFC8058_8_3_BODY,
                           content_type="multipart/form-data; boundary=---FormBoundaryjWmhtjORrn")
    _assert_one_click_done(response, person)


@pytest.mark.parametrize("data, content_type", [
    ("", None), ("", "application/x-www-form-urlencoded"), ("{}", "application/json"),
    ("\x00\xff garbage", "multipart/form-data"), ("whatever", "text/plain"),
])
def test_a_ep_4_empty_or_odd_bodies_unsubscribe_never_3xx_or_5xx(client, subscriber, data, content_type):
    person = subscriber()
    response = client.post(person.path, data=data, content_type=content_type)
    assert response.status_code == 200
    assert person.status == SubscriptionStatus.UNSUBSCRIBED


def test_a_ep_6_one_click_needs_no_csrf_token_and_sets_no_cookie(csrf_client, subscriber):
    person = subscriber()
    _assert_one_click_done(_one_click(csrf_client, person.path), person)


def test_a_ep_7_ambient_cookie_and_authorization_are_ignored(csrf_client, subscriber):
    one = subscriber()
    two = subscriber()
    csrf_client.get(two.path)  # the browser now holds a session of subscriber two's page
    response = _one_click(csrf_client, one.path, headers={"Authorization": "Bearer cpk_someone.else"})
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert one.status == SubscriptionStatus.UNSUBSCRIBED
    assert two.status == SubscriptionStatus.CONFIRMED and two.events("unsubscribed") == []


def test_a_ep_8_body_fields_cannot_retarget(csrf_client, subscriber, create_subscription):
    one = subscriber()
    other_list_sub = subscriber(contact=one.contact)  # the same person on another list of the account
    two = subscriber()
    two_token = two.path.rsplit("/", 1)[1]
    body = (f"{ONE_CLICK}&token={two_token}&email={two.contact.email}&list={other_list_sub.list_id}"
            f"&scope=account&list_id={other_list_sub.list_id}")
    response = _one_click(csrf_client, one.path, data=body)
    assert response.status_code == 200
    assert one.status == SubscriptionStatus.UNSUBSCRIBED
    assert other_list_sub.status == SubscriptionStatus.CONFIRMED  # scope=account without CSRF: ignored
    assert two.status == SubscriptionStatus.CONFIRMED and two.suppressions() == []


def test_a_hdr_6_only_that_person_and_that_list(client, subscriber):
    one = subscriber()
    same_list = subscriber(mailing_list=one.subscription.list)
    other_list = subscriber(contact=one.contact)
    _one_click(client, one.path)
    assert one.status == SubscriptionStatus.UNSUBSCRIBED
    assert same_list.status == other_list.status == SubscriptionStatus.CONFIRMED


def _forgeries(app, person, create_contact, create_list):
    token = person.path.rsplit("/", 1)[1]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    foreign_key = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "a-key-not-in-the-list"
    other_key = links.target_token("unsubscribe", person.target)
    app.config["SECRET_KEY"] = foreign_key
    stranger = create_contact()
    return [flipped, other_key, links.confirm_token(1), links.target_token("preferences", person.target),
            links.target_token("complaint", person.target), token[:20], "garbage", token + "x",
            links.target_token("unsubscribe", links.Target(999999, person.list_id)),
            links.target_token("unsubscribe", links.Target(stranger.id, person.list_id)),
            links.target_token("unsubscribe", links.Target(person.contact.id, create_list().id))]


def test_a_ep_9_i_16_forgeries_get_one_uniform_4xx_and_change_nothing(app, client, subscriber, create_contact,
                                                                    create_list):
    person = subscriber()
    answers = set()
    for token in _forgeries(app, person, create_contact, create_list):
        for response in (_one_click(client, f"/unsubscribe/{token}"), client.get(f"/unsubscribe/{token}"),
                         client.post(f"/unsubscribe/{token}/undo"), client.post(f"/unsubscribe/{token}/reason")):
            assert 400 <= response.status_code < 500
            assert response.headers["Referrer-Policy"] == "no-referrer"
            answers.add((response.status_code, response.data))
    assert len(answers) == 1
    assert person.status == SubscriptionStatus.CONFIRMED
    assert person.suppressions() == [] and [e.type for e in person.events()] == ["confirmed"]


def test_a_ep_10_repeats_are_idempotent(client, subscriber):
    person = subscriber()
    for _ in range(5):
        assert _one_click(client, person.path).status_code == 200
    assert len(person.events("unsubscribed")) == 1 and len(person.suppressions()) == 1


def test_a_hdr_10_one_click_cancels_a_pending_subscription(client, subscriber):
    person = subscriber(status=SubscriptionStatus.PENDING)
    _one_click(client, person.path)
    assert person.status == SubscriptionStatus.UNSUBSCRIBED
    [event] = person.events("unsubscribed")
    assert event.evidence["previous_status"] == "pending"
    assert person.suppressions()[0].reason == "unsubscribed"


def test_a_ep_13_i_5_old_link_works_after_a_key_rotation(app, client, subscriber):
    person = subscriber()
    old_path = person.path
    app.config.update(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=["test-secret-key"])
    assert old_path != person.path  # new links are signed with the new key
    assert _one_click(client, old_path).status_code == 200
    assert person.status == SubscriptionStatus.UNSUBSCRIBED
    app.config.update(SECRET_KEY_FALLBACKS=[])
    assert refusal(client.get(old_path)) == (404, "invalid_link")  # once the old key is dropped, so are its links


def test_i_15_token_pages_are_private(client, subscriber):
    person = subscriber()
    for response in (client.get(person.path), _one_click(client, person.path), client.get("/unsubscribe/bad")):
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"


# --- the person's own form (CSRF), reason and undo -----------------------------------------

def _choose(csrf_client, person, scope):
    page = csrf_client.get(person.path)
    return csrf_client.post(person.path, data={"scope": scope, "csrf_token": csrf_token(page.get_data(as_text=True))})


def test_a_ep_12_d_6_the_form_unsubscribes_from_everything(csrf_client, subscriber):
    person = subscriber()
    second = subscriber(contact=person.contact)
    response = _choose(csrf_client, person, "account")
    assert response.status_code == 200
    assert person.status == second.status == SubscriptionStatus.UNSUBSCRIBED
    assert [(e.scope, e.reason) for e in person.suppressions()] == [("account", "unsubscribed")]
    events = person.events("unsubscribed")
    assert {e.list_id for e in events} == {person.list_id, second.list_id, None}
    assert {e.source for e in events} == {"link"}
    assert "Why did you unsubscribe" in response.get_data(as_text=True)


def test_a_ep_12_the_form_can_choose_this_list_only(csrf_client, subscriber):
    person = subscriber()
    second = subscriber(contact=person.contact)
    _choose(csrf_client, person, "list")
    assert person.status == SubscriptionStatus.UNSUBSCRIBED and second.status == SubscriptionStatus.CONFIRMED


def test_d_5_reason_is_asked_after_and_kept_in_the_ledger(csrf_client, subscriber):
    person = subscriber()
    page = _choose(csrf_client, person, "list").get_data(as_text=True)
    response = csrf_client.post(person.path + "/reason", data={"reason": "too_frequent",
                                                               "csrf_token": csrf_token(page)})
    assert response.status_code == 200
    [event] = person.events("unsubscribe_reason")
    assert event.evidence == {"reason": "too_frequent"} and event.list_id == person.list_id


def test_reason_and_undo_need_the_csrf_token(csrf_client, subscriber):
    person = subscriber()
    _choose(csrf_client, person, "list")
    csrf_client.post(person.path + "/reason", data={"reason": "other"})
    assert person.events("unsubscribe_reason") == []
    csrf_client.post(person.path + "/undo", data={"scope": "list"})
    assert person.status == SubscriptionStatus.UNSUBSCRIBED


def undo_fields(html: str) -> dict:
    """The hidden fields of the undo form of an unsubscribe's answer page."""
    form = html[html.index('/undo'):]
    return {"undo": re.search(r'name="undo" type="hidden" value="([^"]+)"', form).group(1),
            "csrf_token": csrf_token(form)}


def test_undo_everything_resubscribes_the_lists_it_ended(csrf_client, subscriber):
    person = subscriber()
    second = subscriber(contact=person.contact)
    earlier = subscriber(contact=person.contact)
    _one_click(csrf_client, earlier.path)  # left before: the undo of "everything" keeps it left
    page = _choose(csrf_client, person, "account").get_data(as_text=True)
    assert "You can undo this here for 15 minutes" in page
    response = csrf_client.post(person.path + "/undo", data=undo_fields(page))
    assert response.status_code == 200
    assert person.status == second.status == SubscriptionStatus.CONFIRMED
    assert earlier.status == SubscriptionStatus.UNSUBSCRIBED
    assert [(e.scope, e.list_id) for e in person.suppressions()] == [("list", earlier.list_id)]
    assert {e.list_id for e in person.events("resubscribed")} == {person.list_id, second.list_id, None}


def test_undo_of_one_list_lifts_its_suppression_with_a_note(csrf_client, subscriber, db):
    from portal.suppression.models import SuppressionChange

    person = subscriber()
    page = _choose(csrf_client, person, "list").get_data(as_text=True)
    csrf_client.post(person.path + "/undo", data=undo_fields(page))
    assert person.status == SubscriptionStatus.CONFIRMED and person.suppressions() == []
    removal = db.session.query(SuppressionChange).filter_by(op="remove").one()
    assert removal.note == "undone by the subscriber"
    [unsubscribed] = person.events("unsubscribed")
    [event] = person.events("resubscribed")
    assert event.source == "link" and event.evidence["undo_of"] == unsubscribed.id


def test_d_8_undo_never_confirms_a_subscription_that_was_only_pending(csrf_client, subscriber):
    from portal.antiforgery import form_value
    from portal.tokens import make_token

    person = subscriber(status=SubscriptionStatus.PENDING)
    page = _choose(csrf_client, person, "list").get_data(as_text=True)
    # It ended no confirmed subscription: nothing an undo could give back, so none is offered.
    assert "You are unsubscribed" in page and "/undo" not in page
    # Even with a genuine token of that event, an undo gives back no subscription.
    [event] = person.events("unsubscribed")
    with csrf_client.application.test_request_context():
        value = form_value("undo", person.path.rsplit("/", 1)[1])
    undo = make_token("undo", [person.contact.id, event.id])
    assert csrf_client.post(person.path + "/undo", data={"csrf_token": value, "undo": undo}).status_code == 200
    assert person.status == SubscriptionStatus.UNSUBSCRIBED and person.events("resubscribed") == []


def test_a_hdr_4_every_one_character_change_of_the_signature_fails(client, subscriber):
    person = subscriber()
    token = person.path.rsplit("/", 1)[1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for position in (len(token) - 1, len(token) - 5):
        for char in alphabet.replace(token[position], ""):
            forged = token[:position] + char + token[position + 1:]
            assert refusal(client.get(f"/unsubscribe/{forged}")) == (404, "invalid_link"), forged
    assert _one_click(client, person.path).status_code == 200
