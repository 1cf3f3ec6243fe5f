"""An account's accent colour: the WCAG contrast it must give white text, set and cleared through
the API (stored lower case), refused when it is not #rrggbb or too light, and changing nothing then."""
import pytest

from portal.accounts import operations
from portal.accounts.branding import contrast_ratio, relative_luminance, shade
from portal.errors import ValidationFailed

BODY = {"name": "PT Kopi Nusantara Sejahtera Tbk", "postal_address": "Jl. Braga 5, Bandung",
        "contact_email": "owner@kopi.example"}


@pytest.mark.parametrize("colour, ratio", [
    ("#767676", 4.54), ("#777777", 4.48), ("#000000", 21.0), ("#ffffff", 1.0),
    ("#595959", 7.0), ("#ff0000", 4.0), ("#0000ff", 8.59), ("#00ff00", 1.37)])
def test_contrast_with_white_text_matches_known_values(colour, ratio):
    assert round(contrast_ratio(colour, "#ffffff"), 2) == ratio
    assert contrast_ratio("#ffffff", colour) == contrast_ratio(colour, "#ffffff")


def test_relative_luminance_and_shade():
    assert relative_luminance("#000000") == 0 and relative_luminance("#FFFFFF") == pytest.approx(1)
    assert relative_luminance("#080808") == pytest.approx(8 / 255 / 12.92)  # the linear segment
    assert shade("#0b5cad") == "#094a8a" and shade("#000000") == "#000000"


def test_set_read_and_clear_the_accent_colour(client, platform_auth):
    created = client.post("/api/v1/accounts", json={**BODY, "accent_colour": "#0B5CAD"}, headers=platform_auth)
    assert created.status_code == 201 and created.json["accent_colour"] == "#0b5cad"  # stored lower case
    url = f"/api/v1/accounts/{created.json['id']}"
    changed = client.patch(url, json={"accent_colour": "#767676"}, headers=platform_auth)
    assert changed.status_code == 200 and changed.json["accent_colour"] == "#767676"
    assert client.patch(url, json={"name": "PT Kopi"}, headers=platform_auth).json["accent_colour"] == "#767676"
    cleared = client.patch(url, json={"accent_colour": None}, headers=platform_auth)
    assert cleared.status_code == 200 and cleared.json["accent_colour"] is None
    assert client.get(url, headers=platform_auth).json["accent_colour"] is None
    plain = client.post("/api/v1/accounts", json=BODY, headers=platform_auth)
    assert plain.status_code == 201 and plain.json["accent_colour"] is None


def test_an_account_key_sets_its_own_accent_colour(client, create_account, account_auth):
    account = create_account()
    response = client.patch(f"/api/v1/accounts/{account.id}", json={"accent_colour": "#7A1F5C"},
                            headers=account_auth(account))
    assert response.status_code == 200 and response.json["accent_colour"] == "#7a1f5c"


@pytest.mark.parametrize("value", ["0b5cad", "#0b5cad0", "#0b5", "#gggggg", "blue", "#0b5cad;", " #0b5cad",
                                   "#0b5cad\n", "", 5, ["#0b5cad"]])
def test_a_value_that_is_not_rrggbb_is_refused_and_changes_nothing(client, platform_auth, create_account, value):
    account = create_account(accent_colour="#0b5cad")
    response = client.patch(f"/api/v1/accounts/{account.id}", json={"accent_colour": value}, headers=platform_auth)
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_failed"
    assert client.get(f"/api/v1/accounts/{account.id}", headers=platform_auth).json["accent_colour"] == "#0b5cad"
    created = client.post("/api/v1/accounts", json={**BODY, "accent_colour": value}, headers=platform_auth)
    assert created.status_code == 422 and created.json["error"]["code"] == "validation_failed"


@pytest.mark.parametrize("value, shown", [("#777777", "4.48"), ("#FFFF00", "1.07"), ("#ffffff", "1.00"),
                                          ("#FF0000", "4.00"), ("#0b8855", "4.49")])
def test_a_colour_too_light_for_white_text_is_refused_naming_the_field_and_the_ratio(
        client, platform_auth, create_account, value, shown):
    account = create_account(accent_colour="#0b5cad")
    response = client.patch(f"/api/v1/accounts/{account.id}", json={"accent_colour": value}, headers=platform_auth)
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_failed"
    message = response.json["error"]["message"]
    assert "accent_colour" in message and "4.5:1" in message and f"{shown}:1" in message
    assert response.json["error"]["details"] == [{"loc": ["accent_colour"], "msg": message}]
    assert client.get(f"/api/v1/accounts/{account.id}", headers=platform_auth).json["accent_colour"] == "#0b5cad"
    created = client.post("/api/v1/accounts", json={**BODY, "accent_colour": value}, headers=platform_auth)
    assert created.status_code == 422 and created.json["error"]["code"] == "validation_failed"


def test_the_operations_refuse_what_the_api_refuses(app, create_account):
    account = create_account()
    for value in ("#777777", "red", "#0b5cad;}"):
        with pytest.raises(ValidationFailed):
            operations.update_account(account, accent_colour=value)
        with pytest.raises(ValidationFailed):
            operations.create_account(name="X", postal_address="Y", contact_email="x@example.org", accent_colour=value)
    assert account.accent_colour is None
    assert operations.update_account(account, accent_colour="#1A2B3C").accent_colour == "#1a2b3c"
