"""An account's display name: set and cleared through the API, refused when it is not one short line,
and used in the From of the account's mails ("<display name> via <platform>")."""
import pytest

from portal.outbox import identity
from tests.conftest import outbox
from tests.subscriptions.helpers import signup

BODY = {"name": "PT Kopi Nusantara Sejahtera Tbk", "postal_address": "Jl. Braga 5, Bandung",
        "contact_email": "owner@kopi.example"}


def test_set_read_and_clear_the_display_name(client, platform_auth):
    created = client.post("/api/v1/accounts", json={**BODY, "display_name": "Kopi Nusantara"}, headers=platform_auth)
    assert created.status_code == 201 and created.json["display_name"] == "Kopi Nusantara"
    url = f"/api/v1/accounts/{created.json['id']}"
    assert client.patch(url, json={"display_name": "Kopi N."}, headers=platform_auth).json["display_name"] == "Kopi N."
    assert client.patch(url, json={"name": "PT Kopi"}, headers=platform_auth).json["display_name"] == "Kopi N."
    cleared = client.patch(url, json={"display_name": None}, headers=platform_auth)
    assert cleared.status_code == 200 and cleared.json["display_name"] is None


@pytest.mark.parametrize("value", ["", "   ", "Kopi\r\nBcc: victim@example.org", "Kopi\nX", "Kopi\u2028X",
                                   "Kopi\x00", "K" * 61, 5])
def test_a_display_name_that_is_not_one_short_line_is_refused_and_changes_nothing(
        client, platform_auth, create_account, value):
    account = create_account(display_name="Kopi")
    response = client.patch(f"/api/v1/accounts/{account.id}", json={"display_name": value}, headers=platform_auth)
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_failed"
    assert client.get(f"/api/v1/accounts/{account.id}", headers=platform_auth).json["display_name"] == "Kopi"
    created = client.post("/api/v1/accounts", json={**BODY, "display_name": value}, headers=platform_auth)
    assert created.status_code == 422 and created.json["error"]["code"] == "validation_failed"


@pytest.mark.app_config(PORTAL_PLATFORM_NAME="Kirim Kabar")
def test_mails_come_from_the_display_name_and_keep_the_legal_name_by_the_address(client, create_form, create_account):
    account = create_account(name="PT Kopi Nusantara Sejahtera Tbk", display_name="Kopi Nusantara")
    form = create_form(account)
    signup(client, form)
    [mail] = outbox()
    assert mail.payload["sender"]["name"] == "Kopi Nusantara via Kirim Kabar"
    assert "email from Kopi Nusantara" in mail.payload["text"]
    footer = mail.payload["text"].split("\n-- ")[-1]
    assert "PT Kopi Nusantara Sejahtera Tbk" in footer and account.postal_address in footer


def test_without_a_display_name_the_name_is_used(app, create_account):
    account = create_account(name="Toko Kopi")
    assert identity.for_account(account)["name"].startswith("Toko Kopi via ")
