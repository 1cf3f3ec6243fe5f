"""The consent receipt in a real browser, in English and in Bahasa Indonesia."""
import pytest

from portal.consent.evidence import RequestEvidence
from portal.extensions import db
from portal.receipts.operations import receipt_token
from portal.signup import operations as signup
from tests.browser.conftest import assert_fits_width, screenshot, serious_violations

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang, heading, how", [
    ("en", "Your consent receipt", "Double opt-in"),
    ("id", "Tanda terima persetujuan Anda", "Konfirmasi ganda"),
])
def test_the_receipt_renders_in_both_languages(live_server, open_page, create_form, lang, heading, how):
    form = create_form(consent_text="Ya, kirimi saya kabar mingguan.")
    request = signup.request_signup(form, email="dewi@example.org", evidence=RequestEvidence(ip="203.0.113.9"))
    db.session.commit()
    signup.confirm(request.id, evidence=RequestEvidence(ip="203.0.113.10"))
    db.session.commit()
    page = open_page("phone", lang=lang)
    page.goto(f"{live_server.url}/receipts/{receipt_token(request.contact_id)}")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("h1").inner_text().strip() == heading
    body = page.locator("main, body").first.inner_text()
    assert how in body and "Ya, kirimi saya kabar mingguan." in body and form.account.postal_address in body
    assert_fits_width(page)
    assert serious_violations(page) == []
    screenshot(page, f"receipt-{lang}")
    with page.expect_download() as download:
        page.get_by_role("link", name="JSON").click()
    assert download.value.suggested_filename == "consent-receipt.json"
