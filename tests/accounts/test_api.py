"""The accounts API: scopes, validation and the JSON error shape."""
import pytest
from tests.pagetools import refusal

BODY = {"name": "Toko Kopi", "postal_address": "Jl. Braga 5, Bandung", "contact_email": "Owner@Toko.EXAMPLE"}


def test_platform_creates_an_account(client, platform_auth):
    response = client.post("/api/v1/accounts", json=BODY, headers=platform_auth)
    assert response.status_code == 201
    account = response.json
    assert account["status"] == "active" and account["can_send"] is True
    assert account["contact_email"] == "Owner@toko.example"
    assert client.get(f"/api/v1/accounts/{account['id']}", headers=platform_auth).json["name"] == "Toko Kopi"


def test_account_key_cannot_create_accounts(client, create_account, account_auth):
    response = client.post("/api/v1/accounts", json=BODY, headers=account_auth(create_account()))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_account_key_sees_only_its_own_account(client, create_account, account_auth):
    mine, other = create_account(), create_account()
    headers = account_auth(mine)
    assert client.get(f"/api/v1/accounts/{mine.id}", headers=headers).status_code == 200
    response = client.get(f"/api/v1/accounts/{other.id}", headers=headers)
    assert refusal(response) == (404, "not_found")
    assert refusal(client.patch(f"/api/v1/accounts/{other.id}", json={"name": "x"}, headers=headers)) == (404, "not_found")


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic abc", "Bearer cpk_x.y",
                                    "Bearer cpk_" + "a" * 300])
def test_missing_or_bad_keys_get_401(client, header):
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/v1/accounts", json=BODY, headers=headers)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_a_tampered_secret_is_refused(client, create_api_key):
    _key, secret = create_api_key("platform")
    response = client.get("/api/v1/accounts/x", headers={"Authorization": "Bearer " + secret[:-2] + "zz"})
    assert response.status_code == 401


def test_keys_are_stored_hashed(app, create_api_key, db):
    from portal.accounts.models import ApiKey

    key, secret = create_api_key("platform")
    stored = db.session.get(ApiKey, key.id)
    assert secret.split(".", 1)[1] not in stored.secret_hash
    assert len(stored.secret_hash) == 64


@pytest.mark.parametrize("body,status", [
    ({"name": "x"}, 422),
    ({**BODY, "extra": 1}, 422),
    ({**BODY, "contact_email": "not an email"}, 422),
    ({**BODY, "locale": "fr"}, 422),
    ({**BODY, "name": ""}, 422),
    ([1, 2], 422),
])
def test_invalid_bodies_get_422_and_create_nothing(client, platform_auth, db, body, status):
    from portal.accounts.models import Account

    response = client.post("/api/v1/accounts", json=body, headers=platform_auth)
    assert response.status_code == status
    assert "error" in response.json
    assert db.session.query(Account).count() == 0


def test_malformed_json_gets_400(client, platform_auth):
    response = client.post("/api/v1/accounts", data=b"{nope", headers={**platform_auth, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"


def test_deeply_nested_json_gets_a_clear_error(client, platform_auth):
    body = b"[" * 20000 + b"]" * 20000  # far past the parser's depth, within the 64 KiB body limit
    response = client.post("/api/v1/accounts", data=body, headers={**platform_auth, "Content-Type": "application/json"})
    assert response.status_code in (400, 422)


def test_non_json_gets_415(client, platform_auth):
    response = client.post("/api/v1/accounts", data="name=x", headers={**platform_auth, "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415


def test_patch_updates_fields(client, create_account, account_auth):
    account = create_account()
    response = client.patch(f"/api/v1/accounts/{account.id}", json={"postal_address": "PO Box 9, Surabaya"},
                            headers=account_auth(account))
    assert response.status_code == 200
    assert response.json["postal_address"] == "PO Box 9, Surabaya"


def test_status_cannot_be_patched(client, create_account, account_auth):
    account = create_account()
    response = client.patch(f"/api/v1/accounts/{account.id}", json={"status": "active"}, headers=account_auth(account))
    assert response.status_code == 422


def test_platform_lists_every_account_in_pages(client, create_account, platform_auth):
    made = sorted(create_account().id for _ in range(3))
    first = client.get("/api/v1/accounts?limit=2", headers=platform_auth)
    assert first.status_code == 200 and len(first.json["items"]) == 2 and first.json["next_cursor"]
    second = client.get(f"/api/v1/accounts?limit=2&cursor={first.json['next_cursor']}", headers=platform_auth)
    assert second.json["next_cursor"] is None
    ids = [item["id"] for item in first.json["items"] + second.json["items"]]
    assert ids == made
    assert first.json["items"][0]["status"] == "active" and "status_history" in first.json["items"][0]


def test_account_keys_cannot_list_accounts(client, create_account, account_auth):
    response = client.get("/api/v1/accounts", headers=account_auth(create_account()))
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"


def test_listing_accounts_refuses_a_bad_limit_or_cursor(client, platform_auth):
    bad_limit = client.get("/api/v1/accounts?limit=0", headers=platform_auth)
    assert bad_limit.status_code == 422 and bad_limit.json["error"]["code"] == "validation_failed"
    bad_cursor = client.get("/api/v1/accounts?cursor=%%%", headers=platform_auth)
    assert bad_cursor.status_code == 400 and bad_cursor.json["error"]["code"] == "invalid_cursor"


def test_the_account_shows_its_current_complaint_rates(client, db, platform_auth, create_account, create_contact,
                                                       create_deliveries):
    from portal.complaints import operations as complaints

    account = create_account()
    create_deliveries(account, 2000)
    for category in ("not_requested", "too_frequent", "too_frequent"):
        complaints.file_complaint(create_contact(account), category=category, source="web", ledger_source="test")
    db.session.commit()
    body = client.get(f"/api/v1/accounts/{account.id}", headers=platform_auth).json
    short, long = body["complaint_rates"]
    assert short == {"window": "24h", "hours": 24, "complaints": 1, "too_frequent": 2, "delivered": 2000,
                     "rate": 0.0005, "too_frequent_rate": 0.001, "judged": True, "min_volume": 1000}
    assert (long["window"], long["hours"], long["complaints"]) == ("30d", 720, 1)


def _statements(db, request) -> int:
    """How many SQL statements ``request()`` runs."""
    from sqlalchemy import event

    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        request()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_a_page_of_accounts_costs_the_same_statements_whatever_its_size(client, db, platform_auth, create_account,
                                                                         create_contact, create_deliveries):
    """No query per account: histories, open reviews and rates are read for the whole page."""
    from portal.accounts.operations import change_status
    from portal.complaints import operations as complaints
    from portal.complaints.models import ReviewCase

    accounts = [create_account() for _ in range(12)]
    for number, account in enumerate(accounts):
        if number % 3 == 0:
            change_status(account, "warned", reason="complaints")
        if number % 4 == 0:
            change_status(account, "suspended", reason="complaints")
            db.session.add(ReviewCase(account_id=account.id, status="open", evidence={"n": number}))
        if number % 2 == 0:
            create_deliveries(account, 3 + number)
            complaints.file_complaint(create_contact(account), category="not_requested", source="web",
                                      ledger_source="test")
    db.session.commit()
    client.get("/api/v1/accounts?limit=1", headers=platform_auth)  # the key is read (and cached) once
    pages = {}

    def fetch(limit):
        pages[limit] = client.get(f"/api/v1/accounts?limit={limit}", headers=platform_auth)

    small, large = _statements(db, lambda: fetch(2)), _statements(db, lambda: fetch(12))
    assert pages[2].status_code == pages[12].status_code == 200 and len(pages[12].json["items"]) == 12
    assert small == large, (small, large)
    for item in pages[12].json["items"]:  # the same answer as reading each account alone
        assert item == client.get(f"/api/v1/accounts/{item['id']}", headers=platform_auth).json
    items = {item["id"]: item for item in pages[12].json["items"]}
    assert items[accounts[0].id]["open_review"]["evidence"]["n"] == 0
    assert [c["to_status"] for c in items[accounts[0].id]["status_history"]] == ["warned", "suspended"]
    assert items[accounts[2].id]["complaint_rates"][0]["delivered"] == 5
    assert items[accounts[2].id]["complaint_rates"][0]["complaints"] == 1
