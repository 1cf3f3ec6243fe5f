"""Every change of the suppression changes feed names its channel and the ledger event that caused it."""

import pytest
from sqlalchemy import select

from portal import links
from portal.consent.evidence import RequestEvidence
from portal.consent.models import ConsentEvent
from portal.extensions import db
from portal.subscriptions.holders import holder_of
from portal.preferences.operations import ACCOUNT, LIST, undo, unsubscribe
from portal.preferences.undo import undo_token, undoable_event
from portal.suppression import operations as suppressions
from portal.suppression.models import SuppressionChange


def feed(client, auth, account_id):
    return client.get(f"/api/v1/accounts/{account_id}/suppressions?limit=100", headers=auth).get_json()["items"]


def event(event_id):
    return db.session.get(ConsentEvent, event_id)


@pytest.fixture
def person(create_subscription):
    """A confirmed subscriber: (subscription, holder of their list link)."""
    subscription = create_subscription()
    return subscription, holder_of(links.Target(subscription.contact_id, subscription.list_id))


@pytest.mark.parametrize("channel", ["one_click", "link", "mailto", "preferences"])
def test_an_unsubscribe_names_its_channel_and_its_event(client, account_auth, person, channel):
    subscription, holder = person
    outcome = unsubscribe(holder, LIST, RequestEvidence(source=channel, ip="203.0.113.4"))
    db.session.commit()
    item, = feed(client, account_auth(holder.account), holder.account.id)
    assert item["op"] == "add" and item["reason"] == "unsubscribed" and item["channel"] == channel
    assert item["ledger_event_id"] == outcome.event_id
    assert event(outcome.event_id).type == "unsubscribed" and event(outcome.event_id).list_id == subscription.list_id


def test_leaving_everything_names_the_account_wide_event_and_its_undo_the_resubscription(client, account_auth,
                                                                                          person):

    _subscription, holder = person
    outcome = unsubscribe(holder, ACCOUNT, RequestEvidence(source="preferences"))
    db.session.commit()
    back = undo(holder, undoable_event(holder, undo_token(holder, outcome)), RequestEvidence(source="link"))
    db.session.commit()
    added, removed = feed(client, account_auth(holder.account), holder.account.id)
    assert (added["scope"], added["channel"], added["ledger_event_id"]) == ("account", "preferences", outcome.event_id)
    assert event(outcome.event_id).list_id is None  # the account-wide unsubscribe
    assert back.changed and (removed["op"], removed["channel"]) == ("remove", "undo")
    assert event(removed["ledger_event_id"]).type == "resubscribed"


@pytest.mark.parametrize("source, channel", [("web", "web_complaint"), ("fbl", "fbl_complaint")])
def test_a_complaint_names_its_channel_and_the_complained_event(client, account_auth, person, source, channel):
    from portal.complaints.operations import file_complaint

    _subscription, holder = person
    complaint, _ = file_complaint(holder.contact, category="not_requested", source=source, ledger_source=source)
    db.session.commit()
    item, = feed(client, account_auth(holder.account), holder.account.id)
    assert item["reason"] == "complaint" and item["channel"] == channel
    assert item["ledger_event_id"] == complaint.evidence["ledger_event_id"]
    assert event(item["ledger_event_id"]).type == "complained"


def test_a_hard_bounce_names_the_bounced_event(client, platform_auth, person):
    _subscription, holder = person
    response = client.post(f"/api/v1/accounts/{holder.account.id}/deliveries", headers=platform_auth, json={
        "events": [{"email": holder.contact.email, "type": "hard_bounce", "message_id": "<m1@x>",
                    "at": "2026-12-01T10:00:00Z"}]})
    assert response.status_code == 200, response.get_json()
    item, = feed(client, platform_auth, holder.account.id)
    assert (item["reason"], item["channel"]) == ("hard_bounce", "bounce")
    assert event(item["ledger_event_id"]).type == "bounced"


def test_an_erasure_names_the_erased_event(client, account_auth, person):
    from portal.privacy.operations import erase_contact

    _subscription, holder = person
    auth = account_auth(holder.account)
    erase_contact(holder.contact)
    db.session.commit()
    item, = feed(client, auth, holder.account.id)
    assert (item["reason"], item["channel"], item["email"]) == ("erased", "erasure", None)
    assert event(item["ledger_event_id"]).type == "erased"


def test_a_confirmed_signup_lifting_an_own_opt_out_names_the_confirmation(client, account_auth, create_form):
    from portal.signup import operations as signup

    form = create_form()
    first = signup.request_signup(form, email="ann@example.org", evidence=RequestEvidence())
    signup.confirm(first.id, evidence=RequestEvidence())
    holder = holder_of(links.Target(first.contact_id, form.lists[0].id))
    unsubscribe(holder, LIST, RequestEvidence(source="one_click"))
    again = signup.request_signup(form, email="ann@example.org", evidence=RequestEvidence())
    signup.confirm(again.id, evidence=RequestEvidence(ip="203.0.113.8"))
    db.session.commit()
    added, removed = feed(client, account_auth(form.account), form.account_id)
    assert added["channel"] == "one_click"
    assert (removed["op"], removed["channel"]) == ("remove", "confirmation")
    confirmed = event(removed["ledger_event_id"])
    assert confirmed.type == "confirmed" and confirmed.evidence["signup_request_id"] == again.id


def test_a_keys_changes_name_the_api_and_their_events(client, account_auth, person):
    _subscription, holder = person
    auth = account_auth(holder.account)
    base = f"/api/v1/accounts/{holder.account.id}/suppressions"
    assert client.put(f"{base}/{holder.contact.email}", json={"reason": "manual"}, headers=auth).status_code == 200
    assert client.delete(f"{base}/{holder.contact.email}?reason=asked", headers=auth).status_code == 200
    assert client.post(f"{base}/bulk", json={"entries": [{"email": "bulk@example.org", "reason": "manual"}]},
                       headers=auth).status_code == 200
    added, removed, bulk = feed(client, auth, holder.account.id)
    assert [c["channel"] for c in (added, removed, bulk)] == ["api", "api", "api"]
    assert event(added["ledger_event_id"]).type == "suppressed"
    assert event(removed["ledger_event_id"]).type == "unsuppressed"
    assert bulk["ledger_event_id"] is None  # not a contact: no ledger event


def test_an_unknown_channel_is_refused_and_changes_nothing(create_account):
    from portal.errors import ValidationFailed

    account = create_account()
    with pytest.raises(ValidationFailed, match="unknown channel 'carrier_pigeon'"):
        suppressions.add("x@example.org", scope="account", reason="manual", account_id=account.id,
                         channel="carrier_pigeon")
    db.session.rollback()
    assert db.session.scalar(select(SuppressionChange.seq)) is None
