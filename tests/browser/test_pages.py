"""Pages in a real browser: readable on a phone, accessible, in both languages."""
import pytest

from tests.browser.conftest import assert_fits_width, screenshot, serious_violations

pytestmark = pytest.mark.browser


def test_error_page_is_accessible_and_fits(live_server, page):
    page.goto(f"{live_server.url}/unsubscribe/not-a-token")
    assert page.locator("h1").inner_text().strip()
    assert page.locator("html").get_attribute("lang") == "en"
    assert_fits_width(page)
    assert serious_violations(page) == []
    screenshot(page, "error")
