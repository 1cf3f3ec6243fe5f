"""Browser fixtures: the app served on loopback, Debian's Chromium driven by Playwright, axe-core."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
#: Flags for a sandboxed, offline machine (no background connections, no GPU, root).
#: ``shop.test`` is a customer's site on another origin (served on loopback by ``other_origin``).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--host-resolver-rules=MAP shop.test 127.0.0.1"]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
#: The browser's language (its Accept-Language) for each portal locale.
BROWSER_LOCALES = {"en": "en-US", "id": "id-ID"}
#: Milliseconds any wait of a page may take (Playwright's default is 30 s): pages, scripts and axe
#: run slowly on a loaded machine, and a long enough wait costs nothing when the page is quick.
WAIT_MS = 90_000


class LiveServer:
    """The test's app served by werkzeug in a thread."""

    def __init__(self, app):
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    """The app on ``http://127.0.0.1:<port>``; PORTAL_BASE_URL points at it."""
    with LiveServer(app) as server:
        app.config["PORTAL_BASE_URL"] = server.url
        yield server


@pytest.fixture(scope="session")
def browser(chromium_path):
    """One headless Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def new_context(browser, **options):
    """A new browser context whose waits are WAIT_MS long."""
    context = browser.new_context(**options)
    context.set_default_timeout(WAIT_MS)
    return context


@pytest.fixture(params=["phone", "desktop"])
def page(request, browser):
    """A fresh page at phone or desktop width, JavaScript on."""
    viewport = PHONE if request.param == "phone" else DESKTOP
    context = new_context(browser, viewport=viewport, is_mobile=request.param == "phone")
    tab = context.new_page()
    tab.viewport_name = request.param
    yield tab
    context.close()


@pytest.fixture
def page_nojs(browser):
    """A page at phone width with JavaScript off."""
    context = new_context(browser, viewport=PHONE, java_script_enabled=False)
    tab = context.new_page()
    tab.viewport_name = "phone-nojs"
    yield tab
    context.close()


def serious_violations(page) -> list[dict]:
    """axe-core violations of impact serious or critical on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/ (kept by CI)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}-{getattr(page, 'viewport_name', 'page')}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_fits_width(page) -> None:
    """Nothing scrolls sideways: the page is readable at the viewport's width."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the viewport"


@pytest.fixture
def open_page(browser):
    """``open_page(viewport="phone"|"desktop", lang="en"|"id", js=True)``: a page in a fresh
    context whose browser speaks ``lang`` (Accept-Language); closed after the test."""
    contexts = []

    def make(viewport: str = "phone", lang: str = "en", js: bool = True):
        context = new_context(browser, viewport=PHONE if viewport == "phone" else DESKTOP,
                              is_mobile=viewport == "phone", locale=BROWSER_LOCALES[lang], java_script_enabled=js)
        contexts.append(context)
        tab = context.new_page()
        tab.viewport_name = f"{viewport}-{lang}" + ("" if js else "-nojs")
        tab.js = js
        return tab

    yield make
    for context in contexts:
        context.close()


class OtherOrigin:
    """A customer's site: static files served from a directory at ``http://shop.test:<port>``."""

    def __init__(self, directory: Path):
        import functools
        from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        self.directory = directory
        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), functools.partial(Quiet, directory=str(directory)))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://shop.test:{self.port}"

    def publish(self, name: str, html: str) -> str:
        """Serve ``html`` at ``/<name>``; its URL."""
        (self.directory / name).write_text(html, encoding="utf-8")
        return f"{self.origin}/{name}"


@pytest.fixture
def other_origin(tmp_path):
    """A second web server on another origin than the portal, for embedding and framing."""
    site = tmp_path / "shop"
    site.mkdir()
    server = OtherOrigin(site)
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def check_page(page, name: str, lang: str, sender: tuple[str, str] | None = None) -> None:
    """What every portal page must do: language, one h1, a language switch, the account's
    name and address, fit the width, no serious axe violation; then a screenshot."""
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == lang, name
    assert page.locator("h1").count() == 1, name
    assert page.locator("nav.lang a[hreflang]").count() == 1, name
    if sender is not None:  # (account name, postal address)
        footer = page.locator("footer").inner_text()
        assert sender[0] in footer and sender[1] in footer, name
    assert_fits_width(page)
    if getattr(page, "js", True):
        assert serious_violations(page) == [], name
    screenshot(page, name)
