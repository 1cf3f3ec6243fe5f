"""No dead ends (issue 20), in Chromium at phone width with cookies blocked, in English and Bahasa
Indonesia: a tampered link -> "send me a link" -> the mail in the outbox -> the preference centre.

The portal runs with its anti-forgery checks on, as in production; every request passes a route
that strips cookies both ways, and the server's witness proves none was sent or set.
"""
from __future__ import annotations

import pytest

from portal import links
from portal.extensions import db
from tests.browser.conftest import check_page
from tests.browser.test_cookies_blocked import _block_cookies, guarded_server  # noqa: F401 (a fixture)
from tests.browser.test_journeys import TEXT, deliver, h1, sender_of

pytestmark = pytest.mark.browser

INVALID = {"en": "This link is not valid", "id": "Tautan ini tidak valid"}
SENT = {"en": "Check your inbox", "id": "Periksa kotak masuk Anda"}


@pytest.mark.parametrize("lang", ["en", "id"])
def test_a_tampered_link_leads_to_the_preference_centre_by_mail(app, guarded_server, open_page,  # noqa: F811
                                                               create_contact, create_subscription, lang):
    email = f"lost.{lang}@example.org"
    contact = create_contact(email=email)
    subscription = create_subscription(contact=contact)
    sender = sender_of(contact.account)
    tampered = links.unsubscribe_url(links.Target(contact.id, subscription.list_id, None))[:-3] + "AAA"
    db.session.commit()
    page = open_page("phone", lang)
    tried = _block_cookies(page.context)

    page.goto(tampered)
    assert h1(page) == INVALID[lang]
    assert sender[0] not in page.locator("body").inner_text()  # a tampered link names no one
    check_page(page, "no-dead-end-invalid-link", lang)
    page.fill("#email", email)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/manage/sent**")
    assert h1(page) == SENT[lang]
    check_page(page, "no-dead-end-link-sent", lang)

    mail, link = deliver(app, email, "/preferences/")
    assert sender[0] in mail["Subject"]
    page.goto(link)
    assert h1(page) == TEXT[lang]["preferences"]
    assert f"{email[0]}***@example.org" in page.locator("main").inner_text()
    check_page(page, "no-dead-end-preferences", lang, sender)

    witness = guarded_server.witness
    assert "/manage" in witness.paths
    assert witness.received == [] and witness.set == [] and tried == []
    assert page.context.cookies() == []
