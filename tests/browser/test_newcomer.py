"""The newcomer's pages in Chromium: the API docs, the dev inbox and the demo customer site."""
import pytest

from portal.openapi import build_document
from tests.browser.conftest import DESKTOP, screenshot

pytestmark = pytest.mark.browser


def test_the_docs_page_renders_every_route_from_the_app_alone(live_server, browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.viewport_name = "desktop"
    problems, requested = [], []
    page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server.url + "/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=20000)
    operations = page.locator(".opblock").count()
    assert operations == sum(len(methods) for methods in build_document()["paths"].values())
    page.locator(".opblock-summary-path[data-path='/api/v1/accounts/{account_id}/send-check']").first.click()
    page.wait_for_selector(".opblock.is-open .example, .opblock.is-open .body-param__example, "
                           ".opblock.is-open .microlight", timeout=10000)
    assert "ann@example.org" in page.locator(".opblock.is-open").inner_text()
    screenshot(page, "api-docs")
    context.close()
    assert problems == []
    assert requested and all(url.startswith(live_server.url + "/") for url in requested), requested


@pytest.mark.app_config(PORTAL_DEVELOPMENT=True)
def test_the_demo_site_signs_up_cross_origin_and_the_dev_inbox_shows_the_mail(live_server, app, browser):
    from tests.browser.conftest import PHONE, assert_fits_width, serious_violations

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
    screenshot(page, "dev-site")
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
    screenshot(page, "dev-inbox")
    page.click("table.mails a")
    frame = page.frame_locator("iframe.mail-html")
    frame.locator("a").first.wait_for()
    assert "Message-ID" in page.inner_text("dl.headers")
    assert serious_violations(page) == []
    screenshot(page, "dev-inbox-mail")
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
    for path in ("/_dev/mail", "/_dev/site"):
        phone.goto(portal + path)
        assert_fits_width(phone)
    phone.context.close()
