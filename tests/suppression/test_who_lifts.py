"""Who may lift which suppression: the subscriber's own opt-outs belong to the subscriber."""
import pytest

from portal.consent.models import EventType
from portal.suppression import operations
from tests.preferences.conftest import subscriber  # noqa: F401 (fixture)

ALLOWED_TO_ACCOUNT = ["manual", "hard_bounce", "role_address", "invalid"]


def url(account, tail=""):
    return f"/api/v1/accounts/{account.id}/suppressions{tail}"


@pytest.fixture
def suppressed(create_account, db):
    """An account and a function suppressing an address with a reason in a scope."""
    account = create_account()

    def make(reason, scope="account", email="p@x.org"):
        operations.add(email, scope=scope, reason=reason, account_id=account.id if scope != "global" else None)
        db.session.commit()
        return email
    return account, make


@pytest.mark.parametrize("reason,code", [("unsubscribed", "subscriber_suppression"),
                                         ("erased", "subscriber_suppression"),
                                         ("complaint", "complaint_suppression")])
def test_an_account_key_cannot_lift_what_the_subscriber_did(client, suppressed, account_auth, reason, code):
    account, make = suppressed
    email = make(reason)
    refused = client.delete(url(account, f"/{email}?reason=customer+says+ok"), headers=account_auth(account))
    assert refused.status_code == 403 and refused.json["error"]["code"] == code
    assert client.get(url(account, f"/{email}"), headers=account_auth(account)).json["suppressed"] is True


@pytest.mark.parametrize("reason", ["unsubscribed", "erased"])
def test_not_even_the_platform_key_lifts_an_unsubscribe_or_an_erasure(client, suppressed, platform_auth, reason):
    account, make = suppressed
    email = make(reason)
    refused = client.delete(url(account, f"/{email}?reason=support+ticket"), headers=platform_auth)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "subscriber_suppression"
    assert "double opt-in" in refused.json["error"]["message"]
    assert client.get(url(account, f"/{email}"), headers=platform_auth).json["suppressed"] is True


def test_the_platform_key_lifts_a_complaint_with_a_recorded_reason(client, suppressed, platform_auth,
                                                                    create_contact, db):
    account, make = suppressed
    contact = create_contact(account, email="p@x.org")
    email = make("complaint")
    assert client.delete(url(account, f"/{email}"), headers=platform_auth).status_code == 422  # no reason
    lifted = client.delete(url(account, f"/{email}?reason=reviewed+by+compliance"), headers=platform_auth)
    assert lifted.status_code == 200 and lifted.json["suppressed"] is False
    from portal.consent.operations import events_for_contact

    [event] = [e for e in events_for_contact(contact.id) if e.type == EventType.UNSUPPRESSED]
    assert event.evidence["note"] == "reviewed by compliance" and event.actor == "platform"


@pytest.mark.parametrize("reason", ALLOWED_TO_ACCOUNT)
def test_the_customers_own_kinds_of_suppression_stay_the_customers(client, suppressed, account_auth, reason):
    account, make = suppressed
    email = make(reason)
    lifted = client.delete(url(account, f"/{email}?reason=fixed"), headers=account_auth(account))
    assert lifted.status_code == 200 and lifted.json["suppressed"] is False


@pytest.mark.parametrize("reason", ["unsubscribed", "erased"])
def test_global_subscriber_suppressions_stay_too(client, suppressed, platform_auth, reason):
    _account, make = suppressed
    email = make(reason, scope="global")
    refused = client.delete(f"/api/v1/suppressions/{email}?reason=x", headers=platform_auth)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "subscriber_suppression"


SUBSCRIBERS_OWN = ["unsubscribed", "erased", "complaint"]


@pytest.mark.parametrize("reason", SUBSCRIBERS_OWN)
def test_an_account_key_cannot_make_a_suppression_that_poses_as_the_subscribers_own(client, create_list,
                                                                                     account_auth, reason):
    mailing_list = create_list()
    account = mailing_list.account
    auth = account_auth(account)
    for scope in ({}, {"list_id": mailing_list.id}):
        refused = client.put(url(account, "/p@x.org"), headers=auth, json={"reason": reason, **scope})
        assert refused.status_code == 403 and refused.json["error"]["code"] == "reserved_reason"
        assert reason in refused.json["error"]["message"] and "manual" in refused.json["error"]["message"]
    bulk = client.post(url(account, "/bulk"), headers=auth, json={"entries": [
        {"email": "q@x.org", "reason": "manual"}, {"email": "p@x.org", "reason": reason}]})
    assert bulk.status_code == 403 and bulk.json["error"]["code"] == "reserved_reason"
    assert bulk.json["error"]["details"] == [{"loc": ["entries", 1, "reason"], "msg": f"{reason} is reserved"}]
    # Nothing was added, not even the allowed entry of the refused batch.
    for email in ("p@x.org", "q@x.org"):
        assert client.get(url(account, f"/{email}"), headers=auth).json["suppressed"] is False
    assert client.get(url(account), headers=auth).json["items"] == []


@pytest.mark.parametrize("reason", SUBSCRIBERS_OWN)
def test_the_platform_may_record_them_and_no_account_key_lifts_them(client, create_account, account_auth,
                                                                     platform_auth, reason):
    account = create_account()
    added = client.put(url(account, "/p@x.org"), headers=platform_auth, json={"reason": reason})
    assert added.status_code == 200 and added.json["entries"][0]["reason"] == reason
    refused = client.delete(url(account, "/p@x.org?reason=mine"), headers=account_auth(account))
    assert refused.status_code == 403


@pytest.mark.parametrize("reason", ALLOWED_TO_ACCOUNT)
def test_an_account_key_adds_and_lifts_its_own_kinds(client, create_account, account_auth, reason):
    account = create_account()
    auth = account_auth(account)
    assert client.put(url(account, "/p@x.org"), headers=auth, json={"reason": reason}).status_code == 200
    bulk = client.post(url(account, "/bulk"), headers=auth, json={"entries": [{"email": "q@x.org", "reason": reason}]})
    assert bulk.status_code == 200 and bulk.json["added"] == 1
    for email in ("p@x.org", "q@x.org"):
        assert client.delete(url(account, f"/{email}?reason=fixed"), headers=auth).status_code == 200


def _leave_everything(client, person) -> None:
    from tests.pagetools import form_to

    action, fields = form_to(client.get(person.path).get_data(as_text=True), "/unsubscribe/")
    assert client.post(action, data={**fields, "scope": "account"}).status_code == 200


def _one_click(client, person) -> None:
    client.post(person.path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")


def _complain(client, person) -> None:
    from portal import links
    from tests.pagetools import forms

    path = links.complaint_url(person.target).replace("https://portal.test", "")
    [(_action, fields)] = forms(client.get(path).get_data(as_text=True))  # the form posts to its own page
    assert client.post(path, data={**fields, "category": "not_requested"}).status_code == 200


@pytest.mark.parametrize("act,scope,code", [(_one_click, "list", "subscriber_suppression"),
                                            (_leave_everything, "account", "subscriber_suppression"),
                                            (_complain, "account", "complaint_suppression")])
def test_what_the_person_did_on_their_own_pages_no_account_key_undoes(cookieless, subscriber, account_auth, act,
                                                                      scope, code):
    """Chained as it happens: the person opts out on their own page; the customer then tries its key."""
    person = subscriber()
    account = person.subscription.list.account
    auth = account_auth(account)
    act(cookieless, person)
    email = person.contact.email
    target = f"/{email}?reason=customer+says+ok" + (f"&list_id={person.list_id}" if scope == "list" else "")
    refused = cookieless.delete(url(account, target), headers=auth)
    assert refused.status_code == 403 and refused.json["error"]["code"] == code
    # The customer's own account entry: for a list opt-out a new one it may lift again, leaving the
    # person's list entry; over the person's own account entry, nothing new, and still refused.
    assert cookieless.put(url(account, f"/{email}"), headers=auth, json={"reason": "manual"}).status_code == 200
    again = cookieless.delete(url(account, f"/{email}?reason=mine"), headers=auth)
    assert again.status_code == (200 if scope == "list" else 403)
    assert [(e.scope, e.reason) for e in person.suppressions()] == [
        (scope, {"subscriber_suppression": "unsubscribed", "complaint_suppression": "complaint"}[code])]
    check = cookieless.post(f"/api/v1/accounts/{account.id}/send-check", headers=auth,
                            json={"list_id": person.list_id, "emails": [email]}).json["results"][0]
    assert check["eligible"] is False
