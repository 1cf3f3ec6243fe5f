"""Send-check: the reasons, in the order SPEC section 5 gives them."""
from datetime import timedelta

from portal.accounts.operations import change_status
from portal.db import utcnow
from portal.suppression import operations
from portal.subscriptions.models import SubscriptionStatus
from tests.pagetools import refusal


def send_check(client, auth, mailing_list, emails):
    response = client.post(f"/api/v1/accounts/{mailing_list.account_id}/send-check",
                           json={"list_id": mailing_list.id, "emails": emails}, headers=auth)
    assert response.status_code == 200, response.json
    return response.json["results"]


def test_each_reason_in_order(client, db, create_list, create_contact, create_subscription, platform_auth):
    mailing_list = create_list()
    account = mailing_list.account
    states = {"ok@x.org": SubscriptionStatus.CONFIRMED, "pend@x.org": SubscriptionStatus.PENDING,
              "gone@x.org": SubscriptionStatus.UNSUBSCRIBED, "spam@x.org": SubscriptionStatus.COMPLAINED,
              "bounce@x.org": SubscriptionStatus.BOUNCED, "info@x.org": SubscriptionStatus.CONFIRMED,
              "supp@x.org": SubscriptionStatus.CONFIRMED}
    for email, status in states.items():
        create_subscription(create_contact(account, email), mailing_list, status=status)
    old = utcnow() - timedelta(days=731)
    create_subscription(create_contact(account, "old@x.org"), mailing_list, confirmed_at=old)
    create_subscription(create_contact(account, "seen@x.org"), mailing_list, confirmed_at=old,
                        last_contacted_at=utcnow() - timedelta(days=10))
    operations.add("supp@x.org", scope="list", reason="manual", account_id=account.id, list_id=mailing_list.id)
    db.session.commit()
    emails = ["OK@X.ORG", "nobody@x.org", "pend@x.org", "gone@x.org", "spam@x.org", "bounce@x.org",
              "info@x.org", "supp@x.org", "old@x.org", "seen@x.org", "not an address"]
    results = send_check(client, platform_auth, mailing_list, emails)
    assert [r["email"] for r in results] == emails
    assert [r["reason"] for r in results] == ["ok", "not_subscribed", "pending", "unsubscribed", "complained",
                                              "bounced", "role_address", "suppressed", "stale", "ok", "invalid"]
    assert [r["eligible"] for r in results] == [True] + [False] * 8 + [True, False]


def test_suppression_of_another_list_does_not_count(client, db, create_list, create_contact, create_subscription,
                                                    platform_auth):
    mailing_list = create_list()
    other = create_list(mailing_list.account)
    create_subscription(create_contact(mailing_list.account, "a@x.org"), mailing_list)
    operations.add("a@x.org", scope="list", reason="manual", account_id=other.account_id, list_id=other.id)
    db.session.commit()
    assert send_check(client, platform_auth, mailing_list, ["a@x.org"])[0]["reason"] == "ok"
    assert send_check(client, platform_auth, other, ["a@x.org"])[0]["reason"] == "suppressed"


def test_account_reasons_come_first(client, db, create_list, create_contact, create_subscription, platform_auth):
    mailing_list = create_list()
    account = mailing_list.account
    create_subscription(create_contact(account, "a@x.org"), mailing_list)
    account.postal_address = None
    db.session.commit()
    assert send_check(client, platform_auth, mailing_list, ["a@x.org", "x"])[1]["reason"] == "no_postal_address"
    change_status(account, "suspended", reason="complaint")
    db.session.commit()
    assert {r["reason"] for r in send_check(client, platform_auth, mailing_list, ["a@x.org", "b"])} == {
        "account_suspended"}
    change_status(account, "deactivated", reason="review:deactivate")
    db.session.commit()
    assert send_check(client, platform_auth, mailing_list, ["a@x.org"])[0]["reason"] == "account_deactivated"


def test_other_accounts_list_is_404(client, create_list, account_auth):
    mine, theirs = create_list(), create_list()
    response = client.post(f"/api/v1/accounts/{mine.account_id}/send-check",
                           json={"list_id": theirs.id, "emails": ["a@x.org"]}, headers=account_auth(mine.account))
    assert refusal(response) == (404, "not_found")


def test_many_addresses_in_few_queries(client, db, create_list, platform_auth, app):
    from sqlalchemy import event

    mailing_list = create_list()
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        results = send_check(client, platform_auth, mailing_list, [f"p{i}@x.org" for i in range(3000)])
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(results) == 3000 and {r["reason"] for r in results} == {"not_subscribed"}
    assert len(statements) < 20  # chunks of 900 on SQLite, one array on PostgreSQL
