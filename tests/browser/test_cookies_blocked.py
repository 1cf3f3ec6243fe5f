"""A browser that blocks cookies (Safari and Brave strict modes, in-app mail browsers) can
confirm, change its preferences and leave everything: the URL token is the credential.

The portal runs with its anti-forgery checks on, as in production. Chromium's requests pass a
Playwright route that strips any Cookie, and answers reach the page without Set-Cookie; a WSGI
wrapper records what the server saw, so the test proves that no cookie was ever sent or set.
"""
from __future__ import annotations

import re

import pytest

from portal import links
from portal.extensions import db
from tests.browser.conftest import LiveServer
from tests.browser.test_journeys import TEXT, deliver, h1, subscription_status
from portal.subscriptions.operations import find_contact

pytestmark = pytest.mark.browser


class CookieWitness:
    """WSGI middleware: every Cookie header received and every Set-Cookie sent, per path."""

    def __init__(self, app):
        self.app, self.received, self.set, self.paths = app, [], [], []

    def __call__(self, environ, start_response):
        self.paths.append(environ.get("PATH_INFO"))
        if environ.get("HTTP_COOKIE"):
            self.received.append((environ.get("PATH_INFO"), environ["HTTP_COOKIE"]))

        def recording_start(status, headers, exc_info=None):
            self.set += [(environ.get("PATH_INFO"), v) for k, v in headers if k.lower() == "set-cookie"]
            return start_response(status, headers, exc_info)

        return self.app(environ, recording_start)


@pytest.fixture
def guarded_server(app, second_app):
    """The portal with anti-forgery on, on loopback, behind the cookie witness."""
    guarded = second_app(WTF_CSRF_ENABLED=True)
    witness = CookieWitness(guarded.wsgi_app)
    guarded.wsgi_app = witness
    with LiveServer(guarded) as server:
        guarded.config["PORTAL_BASE_URL"] = app.config["PORTAL_BASE_URL"] = server.url
        server.witness = witness
        yield server


def _block_cookies(context) -> list:
    """Strip cookies both ways on every request of ``context``; the Cookie headers it tried."""
    tried = []

    def handle(route, request):
        headers = {k: v for k, v in request.headers.items() if k.lower() != "cookie"}
        if "cookie" in {k.lower() for k in request.headers}:
            tried.append(request.url)
        response = route.fetch(headers=headers, max_redirects=0)  # the browser follows them itself
        kept = {k: v for k, v in response.headers.items() if k.lower() != "set-cookie"}
        route.fulfill(response=response, headers=kept)

    context.route("**/*", handle)
    return tried


@pytest.mark.parametrize("lang", ["en", "id"])
def test_confirm_change_preferences_and_leave_everything_with_cookies_blocked(
        app, guarded_server, open_page, create_form, create_list, lang):
    form = create_form()
    other = create_form(lists=[create_list(form.account, name="Special offers")]).lists[0]  # open for signup
    form_id, list_id, other_id, account_id = form.id, form.lists[0].id, other.id, form.account_id
    email = f"nocookie.{lang}@example.org"
    db.session.commit()
    page = open_page("phone", lang)
    tried = _block_cookies(page.context)

    # Sign up and confirm from the mail.
    page.goto(f"{guarded_server.url}/f/{form_id}")
    page.fill("#email", email)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/thanks"))
    _mail, link = deliver(app, email, "/confirm/")
    page.goto(link)
    page.locator("input[name=confirm]").click()
    page.wait_for_load_state()
    assert h1(page) == TEXT[lang]["confirmed"]
    contact_id = find_contact(account_id, email).id
    assert subscription_status(contact_id, list_id) == "confirmed"

    # Change preferences: leave the list, ask to join the other (a confirmation mail).
    page.goto(links.preferences_url(links.Target(contact_id, list_id, None)))
    page.uncheck(f"input[value='{list_id}']")
    page.check(f"input[value='{other_id}']")
    page.locator("button[name=save]").click()
    page.wait_for_load_state()
    assert TEXT[lang]["saved"] in page.locator("main").inner_text()
    assert subscription_status(contact_id, list_id) == "unsubscribed"
    assert subscription_status(contact_id, other_id) == "pending"

    # Leave everything from the unsubscribe page.
    page.goto(links.unsubscribe_url(links.Target(contact_id, other_id, None)))
    page.check("input[name=scope][value=account]")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert h1(page).startswith(TEXT[lang]["unsubscribed"])
    assert subscription_status(contact_id, other_id) == "unsubscribed"

    witness = guarded_server.witness
    assert any(path.startswith("/confirm/") for path in witness.paths)
    assert witness.received == [] and witness.set == [] and tried == []
    assert page.context.cookies() == []


@pytest.mark.parametrize("lang", ["en", "id"])
def test_the_confirm_result_survives_reload_back_and_the_language_switch_with_cookies_blocked(
        app, guarded_server, open_page, create_form, lang):
    """Post/Redirect/Get (issue 20): confirm -> the result page -> reload (no resubmission, no
    second ledger event) -> Back -> the language switch, each showing the state, not the question."""
    from sqlalchemy import func, select

    from portal.consent.models import ConsentEvent, EventType

    form = create_form()
    form_id, account_id, list_id = form.id, form.account_id, form.lists[0].id
    email = f"prg.{lang}@example.org"
    db.session.commit()
    page = open_page("phone", lang)
    tried = _block_cookies(page.context)
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.goto(f"{guarded_server.url}/f/{form_id}")
    page.fill("#email", email)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/thanks"))
    _mail, link = deliver(app, email, "/confirm/")
    page.goto(link)
    assert h1(page) == TEXT[lang]["confirm"]
    page.locator("input[name=confirm]").click()
    page.wait_for_load_state()
    assert h1(page) == TEXT[lang]["confirmed"] and page.url.split("?")[0] == link.split("?")[0]
    contact_id = find_contact(account_id, email).id

    def confirmed_events() -> int:
        db.session.commit()
        return db.session.scalar(select(func.count(ConsentEvent.id)).where(
            ConsentEvent.contact_id == contact_id, ConsentEvent.type == EventType.CONFIRMED))

    assert confirmed_events() == 1 and len([url for url in posts if "/confirm/" in url]) == 1
    page.reload()  # a GET: no "Confirm Form Resubmission", nothing posted again
    assert h1(page) == TEXT[lang]["confirmed"]
    page.go_back()  # the link's own page: now the state, not the question
    page.wait_for_load_state()
    assert h1(page) == TEXT[lang]["confirmed"] and page.locator("input[name=confirm]").count() == 0
    other = "id" if lang == "en" else "en"
    page.locator(f"nav.lang a[lang={other}]").click()
    page.wait_for_load_state()
    assert h1(page) == TEXT[other]["confirmed"] and page.url.endswith(f"?lang={other}")
    assert confirmed_events() == 1 and len([url for url in posts if "/confirm/" in url]) == 1
    assert subscription_status(contact_id, list_id) == "confirmed"
    assert guarded_server.witness.received == [] and guarded_server.witness.set == [] and tried == []


def _unsubscribed_events(contact_id: int) -> int:
    from sqlalchemy import func, select

    from portal.consent.models import ConsentEvent

    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(ConsentEvent).where(
        ConsentEvent.contact_id == contact_id, ConsentEvent.type == "unsubscribed"))


def test_the_unsubscribe_link_knows_its_state_with_cookies_blocked(guarded_server, open_page, create_subscription):
    """Unsubscribe -> the result page (a GET) -> reload (no second event) -> Back -> the language
    switch keeps the state -> the link reopened later shows it, at 360 px with cookies blocked."""
    from tests.browser.conftest import check_page
    from tests.browser.test_journeys import sender_of

    subscription = create_subscription()
    contact_id, list_id, list_name = subscription.contact_id, subscription.list_id, subscription.list.name
    sender = sender_of(subscription.contact.account)
    url = links.unsubscribe_url(links.Target(contact_id, list_id, None))
    db.session.commit()
    page = open_page("phone", "id")
    tried = _block_cookies(page.context)

    page.goto(url)
    assert h1(page) == TEXT["id"]["unsubscribe"]
    page.locator("main form button[type=submit]").click()  # this list (the default choice)
    page.wait_for_load_state()
    assert page.url == url and h1(page) == f'{TEXT["id"]["left"]} {list_name}'
    check_page(page, "unsubscribe-state", "id", sender)
    assert "***@" in page.locator("main").inner_text()  # the address, masked
    assert subscription_status(contact_id, list_id) == "unsubscribed"
    events = _unsubscribed_events(contact_id)
    assert events == 1

    page.reload()  # a GET: nothing is posted again
    assert h1(page) == f'{TEXT["id"]["left"]} {list_name}' and _unsubscribed_events(contact_id) == events
    page.go_back()
    page.wait_for_load_state()
    assert h1(page) == f'{TEXT["id"]["left"]} {list_name}' and _unsubscribed_events(contact_id) == events

    page.locator("nav.lang a[hreflang=en]").click()
    page.wait_for_load_state()
    assert page.url == url + "?lang=en" and h1(page) == f'{TEXT["en"]["left"]} {list_name}'
    assert page.locator("main form[action*='/undo'] button").count() == 1  # still in its window

    later = open_page("phone", "id")
    _block_cookies(later.context)
    later.goto(url)
    assert h1(later) == f'{TEXT["id"]["left"]} {list_name}'
    assert later.locator("a[href*='/preferences/']").count() >= 1  # the way back, by double opt-in
    assert _unsubscribed_events(contact_id) == events

    witness = guarded_server.witness
    assert witness.received == [] and witness.set == [] and tried == []
    assert page.context.cookies() == [] and later.context.cookies() == []
