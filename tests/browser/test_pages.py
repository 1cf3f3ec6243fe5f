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


def test_a_page_loads_without_a_failed_request_or_console_error(live_server, page, create_form):
    """Every request a page makes (style sheet, icon) succeeds, and nothing is blocked."""
    form_id = create_form().id
    failed = []

    def on_response(response):
        if response.status >= 400:
            failed.append((response.url, response.status))

    def on_console(message):
        if message.type == "error":
            failed.append(message.text)

    page.on("response", on_response)
    page.on("console", on_console)
    page.goto(f"{live_server.url}/f/{form_id}")
    page.wait_for_load_state("networkidle")
    assert failed == []
