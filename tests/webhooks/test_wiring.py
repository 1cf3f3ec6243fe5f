"""The flows that must tell an account's webhooks: status change, suppression, unsubscribe, complaint."""
import json

import pytest

from portal import links
from portal.accounts import operations as accounts
from portal.complaints import operations as complaints
from portal.consent.evidence import RequestEvidence
from tests.conftest import webhook_payloads


@pytest.fixture
def hooked(create_subscription, create_webhook):
    """A confirmed subscription whose account has an endpoint for every event."""
    subscription = create_subscription()
    create_webhook(subscription.list.account_id, "confirmed", "unsubscribed", "complained", "suppressed",
                   "account_status_changed", url="https://hooks.example/portal")
    return subscription


def test_account_status_change_is_sent(hooked, db):
    accounts.change_status(hooked.list.account, "warned", reason="complaint")
    db.session.commit()
    assert webhook_payloads("account_status_changed") == [{"from_status": "active", "to_status": "warned",
                                                   "reason": "complaint", "decided_by": "system",
                                                   "operator_id": None, "decision": None}]


def test_one_click_unsubscribe_sends_unsubscribed_and_suppressed(hooked, db, client):
    url = links.unsubscribe_url(links.Target(hooked.contact_id, hooked.list_id))
    response = client.post(url.replace("https://portal.test", ""), data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert [d["list_id"] for d in webhook_payloads("unsubscribed")] == [hooked.list_id]
    assert [(d["scope"], d["reason"]) for d in webhook_payloads("suppressed")] == [("list", "unsubscribed")]


def test_complaint_sends_complained_without_its_text(hooked, db):
    complaints.file_complaint(hooked.contact, category="not_requested", source="web", ledger_source="web",
                              list_id=hooked.list_id, message_ref="<m1@x>", text="private words")
    db.session.commit()
    [data] = webhook_payloads("complained")
    assert data["category"] == "not_requested" and "private words" not in json.dumps(data)


def test_erasure_suppression_is_not_sent(hooked, db):
    from portal.suppression import operations as suppressions

    suppressions.add("gone@example.org", scope="account", reason="erased", account_id=hooked.list.account_id)
    db.session.commit()
    assert webhook_payloads("suppressed") == []


def test_confirmation_sends_confirmed(app, db, create_form, create_webhook):
    from portal.signup import operations as signup

    form = create_form()
    create_webhook(form.account_id, "confirmed", url="https://hooks.example/p")
    request = signup.request_signup(form, email="new.person@example.org",
                                    evidence=RequestEvidence(ip="198.51.100.4", user_agent="UA", page_url=None))
    db.session.commit()
    signup.confirm(request.id, evidence=RequestEvidence(ip="198.51.100.4", user_agent="UA", page_url=None))
    db.session.commit()
    [data] = webhook_payloads("confirmed")
    assert data["list_id"] == form.lists[0].id and data["email"] == "new.person@example.org"
