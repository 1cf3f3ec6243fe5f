"""Consent receipts: the JSON document, the page in both languages, the links to them."""
import re

import pytest

from portal import links
from portal.extensions import db
from portal.receipts.operations import receipt_token
from portal.signup import operations as signup
from portal.consent.evidence import RequestEvidence
from tests.pagetools import refusal


@pytest.fixture
def confirmed(app, create_form):
    """A contact who confirmed through the real double opt-in: (form, contact id)."""
    form = create_form(consent_text="Ya, kirimi saya kabar mingguan.")
    request = signup.request_signup(form, email="dewi@example.org", evidence=RequestEvidence(ip="203.0.113.9"))
    db.session.commit()
    signup.confirm(request.id, evidence=RequestEvidence(ip="203.0.113.10"))
    db.session.commit()
    return form, request.contact_id


def test_the_receipt_json_has_the_kantara_and_27560_fields(client, confirmed):
    form, contact_id = confirmed
    response = client.get(f"/receipts/{receipt_token(contact_id)}.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    document = response.get_json()
    assert document["version"] == "KI-CR-v1.1.0" and document["pii_principal_id"] == "dewi@example.org"
    controller = document["pii_controllers"][0]
    assert controller["name"] == form.account.name and controller["address"] == form.account.postal_address
    assert document["processors"][0] == {"name": "Consent Portal", "url": "https://portal.test", "role": "processor"}
    service = document["services"][0]
    assert service["list_id"] == form.lists[0].id and service["collection_method"] == "double opt-in"
    assert service["consent_text"]["text"] == "Ya, kirimi saya kabar mingguan."
    assert service["consent_text"]["version"] == 1 and len(service["consent_text"]["sha256"]) == 64
    assert service["withdrawal"]["url"].startswith("https://portal.test/unsubscribe/")
    assert [e["type"] for e in service["ledger_events"]] == ["signup_requested", "confirmed"]
    # No notice was published: none was shown (tests/notices shows a published one on the receipt).
    assert document["privacy_notice"] is None and service["privacy_notice"] is None


@pytest.mark.app_config(PORTAL_PLATFORM_NAME="Kirim Kabar")
def test_the_processor_is_the_platform_by_its_configured_name(app, client, confirmed):
    _form, contact_id = confirmed
    document = client.get(f"/receipts/{receipt_token(contact_id)}.json").get_json()
    assert document["processors"][0]["name"] == "Kirim Kabar"
    with app.app_context():  # a request of its own (the page's locale is cached per context)
        page = client.get(f"/receipts/{receipt_token(contact_id)}").get_data(as_text=True)
    assert "<dd>Kirim Kabar</dd>" in page


def test_a_bad_receipt_token_is_refused_and_names_no_one(client, confirmed):
    _form, contact_id = confirmed
    preferences = links.target_token("preferences", links.Target(contact_id))
    for url in ("/receipts/not-a-token", f"/receipts/{preferences}", "/preferences/nope/receipt"):
        response = client.get(url)
        assert refusal(response) == (404, "invalid_link")
        assert "This link is not valid" in response.get_data(as_text=True)
        assert "dewi@example.org" not in response.get_data(as_text=True)


def test_the_preference_centre_and_the_confirmed_page_link_the_receipt(client, confirmed):
    _form, contact_id = confirmed
    preferences = links.target_token("preferences", links.Target(contact_id))
    page = client.get(f"/preferences/{preferences}").get_data(as_text=True)
    href = re.search(r'href="([^"]*/receipt[^"]*)"', page).group(1)
    assert client.get(href).status_code == 200


def test_the_confirmed_page_links_the_receipt(client, create_form):
    from tests.subscriptions.helpers import signup as post_signup

    form = create_form()
    post_signup(client, form, "rina@example.org")
    request = db.session.query(signup.SignupRequest).one()
    token = links.confirm_token(request.id)
    page = client.post(f"/confirm/{token}", data={"confirm": "1"}, follow_redirects=True)
    assert page.status_code == 200, page.get_data(as_text=True)
    assert f'href="/receipts/{receipt_token(request.contact_id)}"' in page.get_data(as_text=True)
