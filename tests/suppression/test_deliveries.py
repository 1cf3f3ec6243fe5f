"""Deliveries and bounces reported by the platform."""
from datetime import timedelta

from portal.consent.operations import events_for_contact
from portal.db import utcnow
from portal.subscriptions.models import SubscriptionStatus
from portal.suppression import operations


def report(client, auth, account, *events):
    return client.post(f"/api/v1/accounts/{account.id}/deliveries", json={"events": list(events)}, headers=auth)


def event(email, type, message_id="<m1@platform>", at=None):
    return {"email": email, "type": type, "message_id": message_id, "at": (at or utcnow()).isoformat()}


def test_platform_key_only(client, create_account, account_auth):
    account = create_account()
    assert report(client, account_auth(account), account, event("a@x.org", "delivered")).status_code == 403


def test_delivered_updates_last_contacted_and_resets_soft_bounces(client, db, create_subscription, platform_auth):
    subscription = create_subscription(soft_bounces=2)
    account, contact = subscription.list.account, subscription.contact
    at = utcnow() - timedelta(hours=1)
    response = report(client, platform_auth, account, event(contact.email.upper(), "delivered", at=at))
    assert response.json == {"accepted": 1, "duplicates": 0, "invalid": 0, "suppressed": 0}
    db.session.refresh(subscription)
    assert subscription.last_contacted_at == at and subscription.soft_bounces == 0


def test_hard_bounce_suppresses_bounces_and_records(client, db, create_subscription, platform_auth):
    subscription = create_subscription()
    account, contact = subscription.list.account, subscription.contact
    response = report(client, platform_auth, account, event(contact.email, "hard_bounce"), event("bad", "delivered"))
    assert response.json == {"accepted": 1, "duplicates": 0, "invalid": 1, "suppressed": 1}
    db.session.refresh(subscription)
    assert subscription.status == SubscriptionStatus.BOUNCED
    entries = operations.entries_for(contact.email, account.id)
    assert [(e.scope, e.reason) for e in entries] == [("account", "hard_bounce")]
    assert events_for_contact(contact.id)[-1].type == "bounced"


def test_soft_bounces_suppress_after_the_limit_and_repeats_count_once(client, db, create_subscription,
                                                                      platform_auth):
    subscription = create_subscription()
    account, email = subscription.list.account, subscription.contact.email
    first = event(email, "soft_bounce", "<m1@p>")
    assert report(client, platform_auth, account, first, first).json["duplicates"] == 1
    assert report(client, platform_auth, account, first).json == {
        "accepted": 0, "duplicates": 1, "invalid": 0, "suppressed": 0}
    assert report(client, platform_auth, account, event(email, "soft_bounce", "<m2@p>")).json["suppressed"] == 0
    db.session.refresh(subscription)
    assert subscription.soft_bounces == 2 and not operations.entries_for(email, account.id)
    assert report(client, platform_auth, account, event(email, "soft_bounce", "<m3@p>")).json["suppressed"] == 1
    db.session.refresh(subscription)
    assert subscription.status == SubscriptionStatus.BOUNCED


def test_a_delivery_between_soft_bounces_starts_the_count_again(client, db, create_subscription, platform_auth):
    subscription = create_subscription()
    account, email = subscription.list.account, subscription.contact.email
    report(client, platform_auth, account, event(email, "soft_bounce", "<a@p>"), event(email, "soft_bounce", "<b@p>"),
           event(email, "delivered", "<c@p>"), event(email, "soft_bounce", "<d@p>"))
    db.session.refresh(subscription)
    assert subscription.soft_bounces == 1 and subscription.status == SubscriptionStatus.CONFIRMED
