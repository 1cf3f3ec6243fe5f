"""The newcomer's pages in Chromium: the API docs, the dev inbox and the demo customer site.

Each page is also saved as a screenshot at phone and desktop width (test-artifacts/screenshots/,
``api-docs-*``, ``dev-site-*``, ``dev-inbox-*``, ``dev-inbox-mail-*``): the closing note's pictures.
"""
import time

import pytest

from portal.openapi import build_document
from tests.browser.conftest import DESKTOP, PHONE, screenshot

pytestmark = pytest.mark.browser


def assert_written_since(paths, started: float) -> None:
    """Each screenshot was written by this test, and is a picture."""
    for path in paths:
        assert path.stat().st_mtime >= started - 1 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path


def test_the_docs_page_renders_every_route_from_the_app_alone(live_server, browser):
    started = time.time()
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.viewport_name = "desktop"
    problems, requested = [], []
    page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server.url + "/api/v1/docs")
    operations = sum(len(methods) for methods in build_document()["paths"].values())
    # Every operation drawn, however slowly Swagger UI runs on a loaded machine (90 s at most).
    page.locator(".opblock").nth(operations - 1).wait_for(state="attached", timeout=90000)
    assert page.locator(".opblock").count() == operations
    page.locator(".opblock-summary-path[data-path='/api/v1/accounts/{account_id}/send-check']").first.click()
    page.wait_for_selector(".opblock.is-open .example, .opblock.is-open .body-param__example, "
                           ".opblock.is-open .microlight", timeout=90000)
    assert "ann@example.org" in page.locator(".opblock.is-open").inner_text()
    shots = [screenshot(page, "api-docs")]
    context.close()
    assert problems == []
    assert requested and all(url.startswith(live_server.url + "/") for url in requested), requested
    phone = browser.new_context(viewport=PHONE, is_mobile=True).new_page()
    phone.viewport_name = "phone"
    phone.goto(live_server.url + "/api/v1/docs")
    phone.wait_for_selector(".opblock", timeout=20000)
    shots.append(screenshot(phone, "api-docs"))
    phone.context.close()
    assert_written_since(shots, started)


@pytest.mark.app_config(PORTAL_DEVELOPMENT=True)
def test_the_demo_site_signs_up_cross_origin_and_the_dev_inbox_shows_the_mail(live_server, app, browser):
    from tests.browser.conftest import assert_fits_width, serious_violations

    started = time.time()
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    portal = live_server.url
    shop = portal.replace("127.0.0.1", "localhost")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.viewport_name = "desktop"
    problems, posts = [], []
    page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
    page.on("request", lambda request: request.method == "POST" and posts.append(request))
    page.goto(portal + "/_dev/site")
    assert page.url == shop + "/_dev/site"
    assert serious_violations(page) == []
    shots = [screenshot(page, "dev-site")]
    page.fill("input[type=email]", "newcomer@example.org")
    page.click("button[type=submit]")
    page.wait_for_url(shop + "/_dev/site/thanks")
    assert "Please check your inbox" in page.inner_text("main")
    assert len(posts) == 1 and posts[0].url.startswith(portal + "/f/")
    assert posts[0].headers.get("origin") == shop
    page.click("text=Open the dev inbox")
    page.wait_for_url(portal + "/_dev/mail")
    assert "newcomer@example.org" in page.inner_text("table.mails")
    assert serious_violations(page) == []
    shots.append(screenshot(page, "dev-inbox"))
    page.click("table.mails a")
    mail_url = page.url
    frame = page.frame_locator("iframe.mail-html")
    frame.locator("a").first.wait_for()
    assert "Message-ID" in page.inner_text("dl.headers")
    assert serious_violations(page) == []
    shots.append(screenshot(page, "dev-inbox-mail"))
    confirm = frame.locator("a[href*='/confirm/']").first
    confirm.click()
    page.wait_for_url(portal + "/confirm/*")
    assert page.inner_text("h1") == "Confirm your subscription"
    page.click("input[type=submit]:not(.secondary)")
    page.wait_for_load_state()
    assert page.locator("h1").count() == 1
    assert problems == []
    context.close()
    phone = browser.new_context(viewport=PHONE, is_mobile=True).new_page()
    phone.viewport_name = "phone"
    for url, name in ((portal + "/_dev/site", "dev-site"), (portal + "/_dev/mail", "dev-inbox"),
                      (mail_url, "dev-inbox-mail")):
        phone.goto(url)
        if name == "dev-inbox-mail":  # painted once it has been on screen (below the fold on a phone)
            phone.frame_locator("iframe.mail-html").locator("a").first.wait_for()
            phone.locator("iframe.mail-html").scroll_into_view_if_needed()
        assert_fits_width(phone)
        shots.append(screenshot(phone, name))
    phone.context.close()
    assert_written_since(shots, started)
