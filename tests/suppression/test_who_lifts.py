"""Who may lift which suppression: the subscriber's own opt-outs belong to the subscriber."""
import pytest

from portal.consent.models import EventType
from portal.suppression import operations

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
