"""The webhook endpoints API: create (secret once), list, delete; scopes and validation."""
from portal.outbox.models import OutboxMessage
from portal.webhooks import operations
from tests.pagetools import refusal


def test_create_shows_the_secret_once_then_lists_without_it(client, create_account, account_auth):
    account = create_account()
    auth = account_auth(account)
    created = client.post(f"/api/v1/accounts/{account.id}/webhooks", headers=auth,
                          json={"url": "https://hooks.example/in", "events": ["confirmed", "complained"]})
    assert created.status_code == 201
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["confirmed", "complained"]

    listed = client.get(f"/api/v1/accounts/{account.id}/webhooks", headers=auth).get_json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    assert "secret" not in listed["items"][0] or listed["items"][0]["secret"] is None


def test_create_defaults_to_every_event(client, create_account, platform_auth):
    account = create_account()
    body = client.post(f"/api/v1/accounts/{account.id}/webhooks", headers=platform_auth,
                       json={"url": "https://hooks.example/in"}).get_json()
    assert set(body["events"]) == {"confirmed", "unsubscribed", "complained", "suppressed",
                                   "account_status_changed"}


def test_bad_url_or_event_is_422_and_creates_nothing(client, create_account, platform_auth):
    account = create_account()
    for payload in ({"url": "http://hooks.example/in"}, {"url": "https://h.example/", "events": ["nope"]},
                    {"url": "https://h.example/", "events": []}):
        response = client.post(f"/api/v1/accounts/{account.id}/webhooks", headers=platform_auth, json=payload)
        assert response.status_code == 422, payload
        assert response.get_json()["error"]["code"] == "validation_failed"
    assert operations.active_endpoints(account.id) == []


def test_delete_by_path_and_by_query_stops_deliveries(client, db, create_account, platform_auth):
    account = create_account()
    first = operations.create_endpoint(account.id, url="https://a.example/h", events=["confirmed"])
    second = operations.create_endpoint(account.id, url="https://b.example/h", events=["confirmed"])
    db.session.commit()
    base = f"/api/v1/accounts/{account.id}/webhooks"
    assert client.delete(f"{base}/{first.id}", headers=platform_auth).status_code == 204
    assert client.delete(f"{base}?id={second.id}", headers=platform_auth).status_code == 204
    assert client.delete(f"{base}/{first.id}", headers=platform_auth).status_code == 204  # idempotent
    assert client.get(base, headers=platform_auth).get_json()["items"] == []
    assert operations.emit(account.id, "confirmed", {}) == []
    assert db.session.query(OutboxMessage).count() == 0


def test_another_accounts_key_sees_nothing(client, db, create_account, account_auth):
    account, other = create_account(), create_account()
    endpoint = operations.create_endpoint(account.id, url="https://a.example/h", events=["confirmed"])
    db.session.commit()
    auth = account_auth(other)
    assert refusal(client.get(f"/api/v1/accounts/{account.id}/webhooks", headers=auth)) == (404, "not_found")
    assert refusal(client.delete(f"/api/v1/accounts/{other.id}/webhooks/{endpoint.id}", headers=auth)) == (404, "not_found")
    assert operations.active_endpoints(account.id) == [endpoint]


def test_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/api/v1/accounts/{account_id}/webhooks"]) == {"get", "post", "delete"}
    assert "delete" in paths["/api/v1/accounts/{account_id}/webhooks/{webhook_id}"]
