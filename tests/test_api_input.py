"""Input the database cannot hold is refused by the API layer (found by schemathesis on PostgreSQL)."""
import base64
import json

import pytest
from tests.pagetools import refusal


def test_nul_in_a_json_body_is_422(client, platform_auth):
    body = {"name": "A\u0000", "postal_address": "Street 1", "contact_email": "a@x.org"}
    response = client.post("/api/v1/accounts", json=body, headers=platform_auth)
    assert response.status_code == 422


def test_nul_in_an_account_id_is_404(client, platform_auth):
    assert refusal(client.get("/api/v1/accounts/a%00b", headers=platform_auth)) == (404, "not_found")


def test_nul_in_the_query_string_is_422(client, create_account, platform_auth):
    account = create_account()
    response = client.get(f"/api/v1/accounts/{account.id}/lists?cursor=%00", headers=platform_auth)
    assert response.status_code == 422


@pytest.mark.parametrize("value", [[1], {"a": 1}, 2**70, True, "a\u0000"])
def test_a_cursor_that_names_nothing_is_400(client, create_account, platform_auth, value):
    account = create_account()
    cursor = base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    for route in ("lists", "suppressions"):
        response = client.get(f"/api/v1/accounts/{account.id}/{route}?cursor={cursor}", headers=platform_auth)
        assert response.status_code == 400, route
