"""An account's accent colour and display name in a real browser: the <style> element's hash really
lets Chromium apply it under the CSP (a blocked style would log a console error and leave the
portal's blue), and the page stays accessible."""
import pytest

from tests.browser.conftest import screenshot, serious_violations

pytestmark = pytest.mark.browser


def test_a_branded_signup_page_shows_its_colour_and_display_name(live_server, open_page, create_form,
                                                                 create_account):
    account = create_account(name="PT Kopi Nusantara Sejahtera Tbk", display_name="Kopi Nusantara",
                             accent_colour="#7a1f5c")
    form = create_form(account=account)
    page = open_page("phone", "en")
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/f/{form.id}")
    button = page.locator("main button[type=submit], main input[type=submit]").first
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(122, 31, 92)"
    assert page.locator("header .sender").inner_text().strip() == "Kopi Nusantara"
    assert "PT Kopi Nusantara Sejahtera Tbk" in page.locator("footer").inner_text()
    assert errors == []  # no Content-Security-Policy violation
    assert serious_violations(page) == []
    screenshot(page, "branded-signup")
