"""``/confirm/<token>``: GET is safe, POST confirms once, decline, expiry, binding (STANDARDS I)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal import links
from portal.consent.models import EventType
from portal.extensions import db
from portal.signup import operations as doi
from portal.subscriptions.models import SignupRequest, SubscriptionStatus
from portal.subscriptions.operations import apply, find_contact, get_or_create_contact, get_or_create_subscription
from tests.conftest import other_app, outbox
from tests.pagetools import csrf_token, refusal
from tests.subscriptions.helpers import confirm_path, event_types, signup, subscription_of
from portal.consent.evidence import RequestEvidence


@pytest.fixture
def pending(client, create_form):
    """A form, the contact who signed up to it, and the path of their confirmation link."""
    form = create_form()
    signup(client, form)
    contact = find_contact(form.account_id, "ann@example.org")
    return form, contact, confirm_path(outbox()[0])


def test_get_head_and_prefetch_change_nothing_I6(client, pending):
    form, contact, path = pending
    for _ in range(3):
        page = client.get(path)
        assert page.status_code == 200
    assert client.head(path).status_code == 200
    assert client.get(path, headers={"Sec-Purpose": "prefetch", "Purpose": "prefetch"}).status_code == 200
    assert subscription_of(contact.id, form.lists[0].id).status == SubscriptionStatus.PENDING
    assert EventType.CONFIRMED not in event_types(contact.id)


def test_confirm_page_has_buttons_and_no_script_I8(client, pending):
    _form, _contact, path = pending
    page = client.get(path)
    body = page.get_data(as_text=True)
    assert 'method="post"' in body and "No thanks" in body and "<script" not in body
    assert 'http-equiv="refresh"' not in body.lower()
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"


def test_second_post_says_subscribed_without_a_second_event_I10(client, pending):
    form, contact, path = pending
    assert client.post(path).status_code == 303
    again = client.post(path, follow_redirects=True)
    assert again.status_code == 200 and b"you are subscribed" in again.data
    assert event_types(contact.id).count(EventType.CONFIRMED) == 1


def test_decline_records_declined_I17(client, pending):
    form, contact, path = pending
    response = client.post(path, data={"decline": "No thanks"}, follow_redirects=True)
    assert response.status_code == 200 and b"will not be subscribed" in response.data
    assert subscription_of(contact.id, form.lists[0].id).status == SubscriptionStatus.DECLINED
    assert event_types(contact.id)[-1] == EventType.DECLINED
    # A declined request cannot be confirmed later: the link answers its own "no" and changes nothing.
    later = client.post(path, follow_redirects=True)
    assert later.status_code == 200 and b"will not be subscribed" in later.data
    assert b"not valid" not in later.data and f'href="/f/{form.id}">Sign up again'.encode() in later.data
    assert subscription_of(contact.id, form.lists[0].id).status == SubscriptionStatus.DECLINED
    assert event_types(contact.id).count(EventType.DECLINED) == 1


def test_confirm_needs_the_pages_csrf_token(app, pending):
    _form, contact, path = pending
    with other_app(app, WTF_CSRF_ENABLED=True) as csrf_app:
        browser = csrf_app.test_client()
        assert browser.post(path).status_code == 400
        page = browser.get(path).get_data(as_text=True)
        token = csrf_token(page)
        assert browser.post(path, data={"csrf_token": token, "confirm": "Yes"}).status_code == 303
    assert event_types(contact.id).count(EventType.CONFIRMED) == 1


def _uniform(response):
    return response.status_code, response.get_data()


def test_tampered_foreign_and_garbage_tokens_get_one_answer_I16(client, pending):
    form, contact, path = pending
    token = path.rsplit("/", 1)[1]
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    unsubscribe = links.target_token("unsubscribe", links.Target(contact.id, form.lists[0].id))
    unknown = links.confirm_token(999999)
    answers = {_uniform(client.post(f"/confirm/{bad}")) for bad in (flipped, unsubscribe, "garbage", unknown)}
    answers |= {_uniform(client.get(f"/confirm/{bad}")) for bad in (flipped, unsubscribe, "garbage", unknown)}
    assert len(answers) == 1 and answers.pop()[0] == 404
    assert subscription_of(contact.id, form.lists[0].id).status == SubscriptionStatus.PENDING


def test_expired_link_is_410_with_a_resend_form_and_changes_nothing_I3(app, pending):
    form, contact, path = pending
    with other_app(app, PORTAL_CONFIRM_MAX_AGE=timedelta(seconds=-1)) as expired_app:
        browser = expired_app.test_client()
        page = browser.get(path)
        assert page.status_code == 410 and f'action="{path}/resend"'.encode() in page.data
        assert browser.post(path).status_code == 410
        resent = browser.post(f"{path}/resend")
        assert resent.status_code == 303 and resent.headers["Location"].startswith(f"{path}/resent")
        page = browser.get(resent.headers["Location"])  # Post/Redirect/Get: a reload posts nothing again
        assert page.status_code == 200 and b"a new link is on its way" in page.data
    assert subscription_of(contact.id, form.lists[0].id).status == SubscriptionStatus.PENDING
    assert len(outbox()) == 2
    assert app.test_client().post(confirm_path(outbox()[1])).status_code == 303


def test_resend_answers_the_same_when_nothing_is_sent(client, pending):
    form, contact, path = pending
    first = client.post(f"{path}/resend")
    client.post(path)  # confirmed now: nothing more to send
    second = client.post(f"{path}/resend")
    assert (first.status_code, first.headers["Location"]) == (second.status_code, second.headers["Location"])
    assert first.status_code == 303
    assert client.get(first.headers["Location"]).data == client.get(second.headers["Location"]).data
    # Two confirmation mails (the first and the resent one), then only the confirmation's follow-up.
    assert [m.kind for m in outbox()] == ["confirmation", "confirmation", "subscribed"]
    assert refusal(client.post("/confirm/garbage/resend")) == (404, "invalid_link")


def test_old_link_never_resubscribes_after_unsubscribe_I11(client, pending):
    form, contact, path = pending
    client.post(path)
    while_subscribed = client.post(path)
    subscription = subscription_of(contact.id, form.lists[0].id)
    apply(subscription, "unsubscribe")
    db.session.commit()
    # The replay changes nothing; its page now says the link was used (issue 20: the current state).
    replay = client.post(path)
    assert (replay.status_code, replay.headers["Location"]) == (303, while_subscribed.headers["Location"])
    assert b"already been used" in client.get(path).data
    assert subscription_of(contact.id, form.lists[0].id).status == SubscriptionStatus.UNSUBSCRIBED
    assert event_types(contact.id).count(EventType.CONFIRMED) == 1


def test_superseded_request_is_refused(client, pending):
    form, contact, path = pending
    subscription = subscription_of(contact.id, form.lists[0].id)
    apply(subscription, "decline")
    db.session.commit()
    signup(client, form)  # asking again after declining: a new request, a new mail
    assert db.session.query(SignupRequest).count() == 2 and len(outbox()) == 2
    assert refusal(client.post(path)) == (404, "invalid_link")
    assert client.post(confirm_path(outbox()[1])).status_code == 303


def test_unsubscribed_person_may_ask_again_and_confirm(client, pending, app):
    from portal.suppression import operations as suppression

    form, contact, path = pending
    client.post(path)
    apply(subscription_of(contact.id, form.lists[0].id), "unsubscribe")
    suppression.add(contact.email, scope="list", reason="unsubscribed", account_id=form.account_id,
                    list_id=form.lists[0].id)
    db.session.commit()
    signup(client, form)
    assert client.post(confirm_path(outbox()[-1])).status_code == 303
    assert subscription_of(contact.id, form.lists[0].id).status == SubscriptionStatus.CONFIRMED
    assert suppression.entries_for(contact.email, form.account_id, form.lists[0].id) == []


def test_import_request_confirms_every_list_it_names(app, client, create_account, create_list):
    account = create_account()
    lists = [create_list(account), create_list(account)]
    contact = get_or_create_contact(account, "imported@example.org")
    request = SignupRequest(contact_id=contact.id, form_id=None, list_ids=[item.id for item in lists],
                            source="import", evidence={"import_id": "imp1"})
    db.session.add(request)
    db.session.flush()
    for mailing_list in lists:
        subscription, _ = get_or_create_subscription(contact, mailing_list)
        apply(subscription, "request")
        subscription.signup_request_id = request.id
    db.session.commit()
    url = links.confirm_url(request.id)
    assert client.post(url.removeprefix("https://portal.test")).status_code == 303
    assert {subscription_of(contact.id, item.id).status for item in lists} == {SubscriptionStatus.CONFIRMED}


def test_confirm_operation_is_idempotent(app, pending):
    form, contact, path = pending
    request_id = links.load_confirm(path.rsplit("/", 1)[1])
    assert doi.confirm(request_id, evidence=RequestEvidence()).status == "confirmed"
    assert doi.confirm(request_id, evidence=RequestEvidence()).status == "already_confirmed"
