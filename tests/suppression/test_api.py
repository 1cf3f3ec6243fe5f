"""The suppression API: lookups, checks, additions, removals, bulk, global scope, the feed."""
import pytest

from portal.suppression import operations
from portal.suppression.models import SuppressionChange
from tests.pagetools import refusal


def url(account, rest=""):
    return f"/api/v1/accounts/{account.id}/suppressions{rest}"


def test_h1_suppression_api_needs_a_key(client, create_account):
    account = create_account()
    assert client.get(url(account, "/a@x.org")).status_code == 401
    assert client.get(url(account, "/a@x.org"), headers={"Authorization": "Bearer nope"}).status_code == 401


def test_lookup_add_and_remove_round_trip(client, create_account, account_auth, db):
    account = create_account()
    auth = account_auth(account)
    assert client.get(url(account, "/Ann@X.org"), headers=auth).json == {
        "email": "Ann@X.org", "suppressed": False, "entries": []}
    added = client.put(url(account, "/Ann@X.org"), json={"reason": "manual"}, headers=auth)
    assert added.status_code == 200 and added.json["suppressed"] is True
    assert added.json["entries"][0]["scope"] == "account"
    # H-6: another spelling of the same address is the same entry.
    found = client.get(url(account, "/ann@x.ORG"), headers=auth).json
    assert found["email"] == "ann@x.ORG" and found["entries"][0]["reason"] == "manual"
    assert client.delete(url(account, "/ann@x.org"), headers=auth).status_code == 422  # no reason
    removed = client.delete(url(account, "/ann@x.org?reason=asked+by+phone"), headers=auth)
    assert removed.status_code == 200 and removed.json["suppressed"] is False
    assert refusal(client.delete(url(account, "/ann@x.org"), json={"reason": "again"}, headers=auth)) == (404, "not_found")
    notes = [c.note for c in db.session.query(SuppressionChange).order_by("seq")]
    assert notes == [None, "asked by phone"]


def test_list_scope_and_other_accounts(client, create_list, account_auth, create_account):
    mailing_list = create_list()
    account = mailing_list.account
    auth = account_auth(account)
    # (an account key suppresses with its own reasons: "unsubscribed" is the subscriber's, test_who_lifts)
    put = client.put(url(account, "/b@x.org"), json={"reason": "manual", "list_id": mailing_list.id},
                     headers=auth)
    assert put.json["entries"][0] == {**put.json["entries"][0], "scope": "list", "list_id": mailing_list.id}
    other = create_account()
    assert refusal(client.get(url(other, "/b@x.org"), headers=auth)) == (404, "not_found")
    assert refusal(client.put(url(account, "/b@x.org"), json={"list_id": "nope"}, headers=auth)) == (404, "not_found")


def test_account_key_cannot_lift_a_complaint(client, create_account, account_auth, platform_auth, db):
    account = create_account()
    operations.add("c@x.org", scope="account", reason="complaint", account_id=account.id)
    db.session.commit()
    auth = account_auth(account)
    assert client.delete(url(account, "/c@x.org?reason=x"), headers=auth).status_code == 403
    assert client.get(url(account, "/c@x.org"), headers=auth).json["suppressed"] is True
    assert client.delete(url(account, "/c@x.org?reason=reviewed"), headers=platform_auth).status_code == 200


def test_invalid_address_is_422(client, create_account, platform_auth):
    account = create_account()
    response = client.get(url(account, "/not-an-address"), headers=platform_auth)
    assert response.status_code == 422 and response.json["error"]["code"] == "invalid_email"


def test_bulk_check_finds_each_scope(client, create_list, platform_auth, db):
    mailing_list = create_list()
    account = mailing_list.account
    operations.add("g@x.org", scope="global", reason="complaint")
    operations.add("a@x.org", scope="account", reason="manual", account_id=account.id)
    operations.add("l@x.org", scope="list", reason="unsubscribed", account_id=account.id, list_id=mailing_list.id)
    db.session.commit()
    emails = ["G@X.ORG", "free@x.org", "bad", "a@x.org", "l@x.org", "  a@x.org "]
    response = client.post(url(account, "/check"), json={"emails": emails}, headers=platform_auth)
    assert response.status_code == 200
    assert response.json["checked"] == 6
    assert [hit["email"] for hit in response.json["suppressed"]] == ["G@X.ORG", "a@x.org", "l@x.org", "  a@x.org "]
    assert response.json["suppressed"][0]["entries"][0]["scope"] == "global"


def test_bulk_check_sees_changes_made_after_its_index_was_built(client, create_account, platform_auth, db):
    account = create_account()
    check = lambda: client.post(url(account, "/check"), json={"emails": ["n@x.org"]},  # noqa: E731
                                headers=platform_auth).json["suppressed"]
    assert check() == []
    client.put(url(account, "/n@x.org"), json={"reason": "manual"}, headers=platform_auth)
    assert len(check()) == 1
    client.delete(url(account, "/n@x.org?reason=mistake"), headers=platform_auth)
    assert check() == []


def test_bulk_check_ignores_other_accounts(client, create_account, platform_auth, db):
    mine, theirs = create_account(), create_account()
    operations.add("t@x.org", scope="account", reason="manual", account_id=theirs.id)
    db.session.commit()
    response = client.post(url(mine, "/check"), json={"emails": ["t@x.org"]}, headers=platform_auth)
    assert response.json == {"checked": 1, "suppressed": []}


def test_more_than_10000_is_413(client, create_account, platform_auth):
    account = create_account()
    emails = [f"p{i}@x.org" for i in range(10_001)]
    assert client.post(url(account, "/check"), json={"emails": emails}, headers=platform_auth).status_code == 413
    entries = [{"email": e} for e in emails]
    assert client.post(url(account, "/bulk"), json={"entries": entries}, headers=platform_auth).status_code == 413


def test_bulk_add_counts(client, create_account, platform_auth, db):
    account = create_account()
    operations.add("old@x.org", scope="account", reason="manual", account_id=account.id)
    db.session.commit()
    entries = [{"email": "old@x.org"}, {"email": "new@x.org", "reason": "hard_bounce"}, {"email": "NEW@x.org"},
               {"email": "bad"}]
    response = client.post(url(account, "/bulk"), json={"entries": entries}, headers=platform_auth)
    assert response.json == {"added": 1, "already": 2, "invalid": 1, "invalid_indexes": [3]}
    assert operations.entries_for("new@x.org", account.id)[0].reason == "hard_bounce"


def test_global_scope_is_for_the_platform_only(client, create_account, account_auth, platform_auth):
    account = create_account()
    assert client.put("/api/v1/suppressions/g@x.org", json={}, headers=account_auth(account)).status_code == 403
    assert client.put("/api/v1/suppressions/g@x.org", json={"reason": "manual"},
                      headers=platform_auth).json["entries"][0]["scope"] == "global"
    assert client.get(url(account, "/g@x.org"), headers=account_auth(account)).json["suppressed"] is True
    assert client.get("/api/v1/suppressions/g@x.org", headers=platform_auth).json["suppressed"] is True
    assert client.delete("/api/v1/suppressions/g@x.org?reason=ok", headers=platform_auth).json["suppressed"] is False


def test_h3_feed_pages_in_order_and_covers_global(client, create_account, account_auth, db):
    account, other = create_account(), create_account()
    auth = account_auth(account)
    for i in range(5):
        client.put(url(account, f"/f{i}@x.org"), json={"reason": "manual"}, headers=auth)
    operations.add("g@x.org", scope="global", reason="complaint")
    operations.add("o@x.org", scope="account", reason="manual", account_id=other.id)
    db.session.commit()
    client.delete(url(account, "/f0@x.org?reason=undo"), headers=auth)
    seen, cursor = [], None
    while True:
        page = client.get(url(account, f"?limit=2&cursor={cursor or ''}"), headers=auth).json
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [(c["op"], c["email"]) for c in seen] == [("add", f"f{i}@x.org") for i in range(5)] + [
        ("add", "g@x.org"), ("remove", "f0@x.org")]
    assert [c["seq"] for c in seen] == sorted(c["seq"] for c in seen)
    assert set(seen[0]) == {"seq", "op", "email", "email_hash", "scope", "list_id", "reason", "at", "channel",
                            "ledger_event_id"}
    assert seen[0]["channel"] == "api" and seen[0]["ledger_event_id"] is None  # no contact: no ledger event


@pytest.mark.parametrize("limit", ["0", "abc"])
def test_feed_refuses_bad_limits(client, create_account, platform_auth, limit):
    account = create_account()
    assert client.get(url(account, f"?limit={limit}"), headers=platform_auth).status_code == 422


def test_bulk_check_answers_what_a_lookup_answers(client, create_list, platform_auth, db):
    mailing_list = create_list()
    account = mailing_list.account
    client.post(url(account, "/check"), json={"emails": []}, headers=platform_auth)  # index built before the adds
    client.put(url(account, "/z@x.org"), json={"reason": "manual"}, headers=platform_auth)
    client.put(url(account, "/z@x.org"), json={"reason": "unsubscribed", "list_id": mailing_list.id},
               headers=platform_auth)
    checked = client.post(url(account, "/check"), json={"emails": ["z@x.org"]}, headers=platform_auth).json
    looked_up = client.get(url(account, "/z@x.org"), headers=platform_auth).json
    assert checked["suppressed"][0]["entries"] == looked_up["entries"] and len(looked_up["entries"]) == 2
