"""Every form on a token page, posted by a client that never sends a cookie, in both languages.

The URL token is the credential; the anti-forgery value is bound to the token and the form's
purpose. A refusal says why, in the page's language, and changes nothing.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal import links
from portal.antiforgery import form_value, is_valid
from portal.consent.models import EventType
from portal.extensions import db as _db
from portal.subscriptions.models import SubscriptionStatus
from portal.tokens import make_token
from tests.conftest import browser_client, outbox
from tests.pagetools import form_to
from tests.preferences.conftest import Subscriber
from tests.subscriptions.helpers import confirm_path, event_types, subscription_of

ONE_CLICK = "List-Unsubscribe=One-Click"
#: The refusal of a token form, as the error page and the unsubscribe page word it.
REFUSED = {"en": "We could not check that this form came from our page",
           "id": "Kami tidak dapat memastikan bahwa formulir ini berasal dari halaman kami"}
#: A page's own words, to know the language served.
DONE = {"en": {"confirm": "you are subscribed", "unsubscribed": "You are unsubscribed", "thanks": "Thank you",
               "erase_sent": "Check your inbox", "erased": "erased", "complaint": "Thank you",
               "declined": "You will not be subscribed", "expired": "This link has expired",
               "rejoin_sent": "Check your inbox"},
        "id": {"confirm": "berlangganan", "unsubscribed": "Anda telah berhenti berlangganan",
               "thanks": "Terima kasih", "erase_sent": "Periksa kotak masuk Anda", "erased": "dihapus",
               "complaint": "Terima kasih", "declined": "Anda tidak akan didaftarkan",
               "expired": "Tautan ini sudah kedaluwarsa", "rejoin_sent": "Periksa kotak masuk Anda"}}

pytestmark = pytest.mark.parametrize("lang", ["en", "id"])


def _path(url: str) -> str:
    return url.replace("https://portal.test", "")


def _get(client, path: str, lang: str) -> str:
    response = client.get(path, query_string={"lang": lang})
    assert response.status_code in (200, 410), (path, response.status_code)
    return response.get_data(as_text=True)


def _submit(client, path: str, lang: str, action_part: str, extra: dict | None = None, *, forged=False,
            follow_redirects: bool = True):
    """GET the page, then POST its form (to its action, or to the page itself) with ``extra``."""
    page = _get(client, path, lang)
    try:
        action, fields = form_to(page, action_part)
    except AssertionError:
        action, fields = path + f"?lang={lang}", {}
        from tests.pagetools import forms

        fields = forms(page)[0][1]
    if forged:
        value = fields["csrf_token"]
        fields["csrf_token"] = ("A" if value[0] != "A" else "B") + value[1:]  # one character changed
    return client.post(action, data={**fields, **(extra or {})}, follow_redirects=follow_redirects)


def _refused(response, lang: str) -> None:
    assert response.status_code == 400
    assert REFUSED[lang] in response.get_data(as_text=True)


def _person(subscriber) -> Subscriber:
    return subscriber()


def test_confirm_and_decline(lang, cookieless, create_form, client):
    form = create_form()
    for email in ("ann@example.org", "bob@example.org"):
        client.post(f"/f/{form.id}", data={"email": email})
    ann, bob = [confirm_path(m) for m in outbox()]
    _refused(_submit(cookieless, ann, lang, "/confirm/", {"confirm": "1"}, forged=True), lang)
    assert subscription_of(_contact_id(form, "ann@example.org"), form.lists[0].id).status == SubscriptionStatus.PENDING
    done = _submit(cookieless, ann, lang, "/confirm/", {"confirm": "1"}, follow_redirects=False)
    assert done.status_code == 303
    done = cookieless.get(done.headers["Location"])
    assert done.status_code == 200 and DONE[lang]["confirm"] in done.get_data(as_text=True)
    assert subscription_of(_contact_id(form, "ann@example.org"), form.lists[0].id).status == SubscriptionStatus.CONFIRMED
    _refused(_submit(cookieless, bob, lang, "/confirm/", {"decline": "1"}, forged=True), lang)
    assert subscription_of(_contact_id(form, "bob@example.org"), form.lists[0].id).status == SubscriptionStatus.PENDING
    declined = _submit(cookieless, bob, lang, "/confirm/", {"decline": "1"}, follow_redirects=False)
    assert declined.status_code == 303 and declined.headers["Location"].endswith(f"?lang={lang}")
    declined = cookieless.get(declined.headers["Location"])
    assert declined.status_code == 200 and DONE[lang]["declined"] in declined.get_data(as_text=True)
    assert subscription_of(_contact_id(form, "bob@example.org"), form.lists[0].id).status == SubscriptionStatus.DECLINED


def _contact_id(form, email):
    from portal.subscriptions.operations import find_contact

    _db.session.expire_all()
    return find_contact(form.account_id, email).id


def test_resend_from_the_expired_page(lang, second_app, create_form, client):
    form = create_form()
    client.post(f"/f/{form.id}", data={"email": "ann@example.org"})
    path = confirm_path(outbox()[0])
    late_app = second_app(WTF_CSRF_ENABLED=True, PORTAL_CONFIRM_MAX_AGE=timedelta(seconds=-1))
    late = late_app.test_client(use_cookies=False)
    _refused(_submit(late, path, lang, "/resend", forged=True), lang)
    assert len(outbox()) == 1
    resent = _submit(late, path, lang, "/resend")
    assert resent.status_code == 200 and len(outbox()) == 2


def test_unsubscribe_everything_and_a_refusal_never_narrows_the_choice(lang, cookieless, subscriber):
    person = _person(subscriber)
    second = subscriber(contact=person.contact)
    refused = _submit(cookieless, person.path, lang, "/unsubscribe/", {"scope": "account"}, forged=True)
    _refused(refused, lang)
    html = refused.get_data(as_text=True)
    assert re.search(r'<input checked id="scope-\d" name="scope" type="radio" value="account">', html)
    assert person.status == second.status == SubscriptionStatus.CONFIRMED  # not narrowed to this list
    assert person.events(EventType.UNSUBSCRIBED) == []
    done = _submit(cookieless, person.path, lang, "/unsubscribe/", {"scope": "account"})
    assert done.status_code == 200 and DONE[lang]["unsubscribed"] in done.get_data(as_text=True)
    assert person.status == second.status == SubscriptionStatus.UNSUBSCRIBED
    assert [(e.scope, e.reason) for e in person.suppressions()] == [("account", "unsubscribed")]


def test_reason_and_undo_after_unsubscribing(lang, cookieless, subscriber):
    person = _person(subscriber)
    page = _submit(cookieless, person.path, lang, "/unsubscribe/", {"scope": "list"}).get_data(as_text=True)
    reason_action, reason_fields = form_to(page, "/reason")
    forged = cookieless.post(reason_action, data={**reason_fields, "csrf_token": "nope", "reason": "other"})
    _refused(forged, lang)
    assert person.events("unsubscribe_reason") == []
    thanks = cookieless.post(reason_action, data={**reason_fields, "reason": "too_frequent"})
    assert DONE[lang]["thanks"] in thanks.get_data(as_text=True)
    assert [e.evidence for e in person.events("unsubscribe_reason")] == [{"reason": "too_frequent"}]
    undo_action, undo_fields = form_to(page, "/undo")
    _refused(cookieless.post(undo_action, data={**undo_fields, "csrf_token": reason_fields["csrf_token"]}), lang)
    assert person.status == SubscriptionStatus.UNSUBSCRIBED  # another form's value is no good here
    assert cookieless.post(undo_action, data=undo_fields).status_code == 200
    assert person.status == SubscriptionStatus.CONFIRMED


def test_rejoin_after_the_undo_window(lang, second_app, cookieless, subscriber):
    """The expired undo's page offers a confirmation mail: its form, posted with no cookie."""
    person = _person(subscriber)
    late = browser_client(second_app(WTF_CSRF_ENABLED=True, PORTAL_UNDO_MAX_AGE=timedelta(seconds=-1)), cookies=False,
                          follow=False)
    page = _submit(cookieless, person.path, lang, "/unsubscribe/", {"scope": "list"}).get_data(as_text=True)
    undo_action, undo_fields = form_to(page, "/undo")
    expired = late.post(undo_action, data=undo_fields)
    html = expired.get_data(as_text=True)
    assert expired.status_code == 410 and DONE[lang]["expired"] in html
    rejoin_action, rejoin_fields = form_to(html, "/rejoin")
    _refused(late.post(rejoin_action, data={**rejoin_fields, "csrf_token": undo_fields["csrf_token"]}), lang)
    assert outbox("confirmation") == []
    assert person.status == SubscriptionStatus.UNSUBSCRIBED
    sent = late.post(rejoin_action, data=rejoin_fields, follow_redirects=True)
    assert sent.status_code == 200 and DONE[lang]["rejoin_sent"] in sent.get_data(as_text=True)
    assert [m.recipient for m in outbox("confirmation")] == [person.contact.email]
    assert person.status == SubscriptionStatus.PENDING and person.events(EventType.RESUBSCRIBED) == []


def test_preferences_leave_and_ask_to_join(lang, cookieless, subscriber, create_form):
    person = _person(subscriber)
    [other] = create_form(person.subscription.list.account).lists  # open for signup
    _refused(_submit(cookieless, person.preferences_path, lang, "/preferences/", {"save": "1"}, forged=True), lang)
    assert person.status == SubscriptionStatus.CONFIRMED
    saved = _submit(cookieless, person.preferences_path, lang, "/preferences/", {"save": "1", "lists": [other.id]})
    assert saved.status_code == 200
    assert person.status == SubscriptionStatus.UNSUBSCRIBED
    assert [m.recipient for m in outbox("confirmation")] == [person.contact.email]
    _submit(cookieless, person.preferences_path, lang, "/preferences/", {"unsubscribe_all": "1"})
    assert ("account", "unsubscribed") in [(e.scope, e.reason) for e in person.suppressions()]


def test_download_my_data(lang, cookieless, subscriber):
    person = _person(subscriber)
    path = person.preferences_path + "/data"
    _refused(_submit(cookieless, path, lang, "/data", forged=True), lang)
    download = _submit(cookieless, path, lang, "/data")
    assert download.status_code == 200 and download.json["contact"]["email"] == person.contact.email


def test_erasure_request_and_confirmation(lang, cookieless, subscriber, app):
    person = _person(subscriber)
    path = person.preferences_path + "/erase"
    _refused(_submit(cookieless, path, lang, "/erase", forged=True), lang)
    sent = _submit(cookieless, path, lang, "/erase")
    assert DONE[lang]["erase_sent"] in sent.get_data(as_text=True)
    assert [m.kind for m in outbox()] == ["erase_confirm"]
    erase_path = f"/erase/{make_token('erase', [person.contact.id])}"
    _refused(_submit(cookieless, erase_path, lang, "/erase", forged=True), lang)
    assert person.refresh().contact.erased_at is None
    done = _submit(cookieless, erase_path, lang, "/erase")
    assert done.status_code == 200
    _db.session.expire_all()
    assert person.contact.erased_at is not None


def test_complaint(lang, cookieless, subscriber):
    person = _person(subscriber)
    path = _path(links.complaint_url(person.target))
    _refused(_submit(cookieless, path, lang, "/complaint", {"category": "not_requested"}, forged=True), lang)
    assert person.status == SubscriptionStatus.CONFIRMED
    done = _submit(cookieless, path, lang, "/complaint", {"category": "not_requested"})
    assert done.status_code == 200 and person.status == SubscriptionStatus.COMPLAINED


def test_one_click_needs_no_value_at_all(lang, cookieless, subscriber):
    person = _person(subscriber)
    response = cookieless.post(person.path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and person.status == SubscriptionStatus.UNSUBSCRIBED


def test_the_value_is_bound_to_token_and_purpose_and_survives_a_key_rotation(lang, app, second_app):
    with app.test_request_context():
        value = form_value("confirm", "tok")
        assert is_valid("confirm", "tok", value)
        assert not is_valid("decline", "tok", value) and not is_valid("confirm", "tok2", value)
        assert not is_valid("confirm", "tok", "") and not is_valid("confirm", "tok", None)
    rotated = second_app(SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=[app.config["SECRET_KEY"]])
    with rotated.test_request_context():
        assert is_valid("confirm", "tok", value)  # made with the old key: still accepted
        assert form_value("confirm", "tok") != value  # new pages carry the new key's value
    dropped = second_app(SECRET_KEY="new-key")
    with dropped.test_request_context():
        assert not is_valid("confirm", "tok", value)


def test_the_event_types_of_a_signup_are_unchanged(lang, client, create_form):
    form = create_form()
    client.post(f"/f/{form.id}?lang={lang}", data={"email": "ann@example.org"})
    assert event_types(_contact_id(form, "ann@example.org")) == [EventType.SIGNUP_REQUESTED,
                                                                 EventType.CONFIRMATION_SENT]
