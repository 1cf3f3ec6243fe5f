"""A postal address is an address: one rule for send-check, imports, the footer and the message check."""
import pytest

from portal.addresses import is_postal_address

NOT_ADDRESSES = [".", " ", "\u200b", "\u200b\u200c\u200d\ufeff", " . , - ", "\u00a0\t\n", "a.", "\u2060x\u200by"]


@pytest.mark.parametrize("value", NOT_ADDRESSES + [None, ""])
def test_blank_or_invisible_text_is_not_an_address(value):
    assert not is_postal_address(value)


@pytest.mark.parametrize("value", ["Jl. Merdeka 1, Bandung 40111", "PO Box 12", "東京都港区1", "1 A St"])
def test_an_address_with_a_few_letters_or_digits_is(value):
    assert is_postal_address(value)


@pytest.fixture
def account_with(client, create_list, platform_auth):
    """Set the account's postal address through the API; its list and the platform key."""
    mailing_list = create_list()

    def patch(value):
        response = client.patch(f"/api/v1/accounts/{mailing_list.account_id}", headers=platform_auth,
                                json={"postal_address": value})
        assert response.status_code == 200, response.json
        return mailing_list
    return patch


@pytest.mark.parametrize("value", [".", " ", "\u200b"])
def test_no_address_blocks_sending_everywhere(client, account_with, platform_auth, value):
    mailing_list = account_with(value)
    base = f"/api/v1/accounts/{mailing_list.account_id}"
    check = client.post(f"{base}/send-check", headers=platform_auth,
                        json={"list_id": mailing_list.id, "emails": ["a@example.org"]})
    assert check.json["results"][0] == {"email": "a@example.org", "eligible": False, "reason": "no_postal_address"}
    footer = client.get(f"{base}/footer", headers=platform_auth)
    assert footer.status_code == 409 and footer.json["error"]["code"] == "no_postal_address"
    message = client.post(f"{base}/messages/check", headers=platform_auth,
                          json={"text": f"{value} {{{{unsubscribe_url}}}}", "html": None, "headers": {}})
    assert message.json["ok"] is False
    assert "account_has_no_postal_address" in [p["code"] for p in message.json["problems"]]
    account = client.get(base, headers=platform_auth).json
    assert account["sending_block"] == "no_postal_address"
    imported = _import(client, mailing_list, platform_auth)
    assert imported.status_code == 409 and imported.json["error"]["code"] == "no_postal_address"


def _import(client, mailing_list, auth):
    """POST a one-row CSV import into ``mailing_list``."""
    import io

    return client.post(f"/api/v1/accounts/{mailing_list.account_id}/lists/{mailing_list.id}/imports",
                       headers=auth, data={"file": (io.BytesIO(b"email\nann@example.org\n"), "contacts.csv"),
                                           "consent_method": "single_opt_in", "attestation": "Asked at the till."})


@pytest.mark.parametrize("value", [".", "\u200b"])
def test_an_import_queued_before_the_address_was_blanked_fails_with_the_same_rule(client, account_with,
                                                                                  platform_auth, value):
    from portal.imports.operations import worker

    mailing_list = account_with("Jl. Sudirman 1, Jakarta")
    queued = _import(client, mailing_list, platform_auth)
    assert queued.status_code == 202
    account_with(value)
    worker.run_once()
    report = client.get(queued.json["report_url"], headers=platform_auth).json
    assert report["status"] == "failed" and report["error"]["code"] == "no_postal_address"
    assert report["accepted"] == 0


def test_a_real_address_sends(client, account_with, platform_auth):
    mailing_list = account_with("Jl. Sudirman 1, Jakarta")
    footer = client.get(f"/api/v1/accounts/{mailing_list.account_id}/footer", headers=platform_auth)
    assert footer.status_code == 200 and "Jl. Sudirman 1, Jakarta" in footer.json["text"]
