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
