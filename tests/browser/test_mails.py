"""The confirmation mail as a person sees it on a phone, in both languages: who it is from, the
address, when, the site, the lists, that doing nothing subscribes no one; its link opens the page
in the mail's language in a browser that speaks the other one. Screenshots in test-artifacts/."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import assert_fits_width, screenshot, serious_violations
from tests.browser.test_journeys import deliver

TEXT = {"en": {"address": "Email address: ann@example.org", "nothing": "If you do nothing, nothing happens",
               "confirm": "Confirm your subscription"},
        "id": {"address": "Alamat email: ann@example.org", "nothing": "Jika Anda tidak melakukan apa pun",
               "confirm": "Konfirmasi langganan Anda"}}
OTHER = {"en": "id", "id": "en"}


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.app_config(PORTAL_PLATFORM_NAME="Kirim Kabar")
def test_the_confirmation_mail_on_a_phone_and_its_link_in_the_mails_language(
        app, live_server, open_page, create_form, create_account, create_list, lang):
    account = create_account(name="PT Kopi Nusantara", display_name="Kopi Nusantara", locale=lang)
    form = create_form(account, [create_list(account, name="Kabar kopi", description="Roasts and offers.")],
                       allowed_origins=["https://shop.example"])
    form_id = form.id
    with app.test_client() as client:
        client.post(f"/f/{form_id}", data={"email": "ann@example.org", "page_url": "https://shop.example/join"},
                    headers={"Accept-Language": lang})
    mail, _link = deliver(app, "ann@example.org", "/confirm/")
    assert mail["From"].addresses[0].display_name == "Kopi Nusantara via Kirim Kabar"

    page = open_page("phone", lang)
    page.set_content(mail.get_body(("html",)).get_content())
    body = page.locator("body").inner_text()
    assert page.locator("html").get_attribute("lang") == lang
    for words in (TEXT[lang]["address"], "shop.example", "Kabar kopi", TEXT[lang]["nothing"]):
        assert words in body
    assert_fits_width(page)
    assert serious_violations(page) == []
    screenshot(page, "mail-confirmation")  # mail-confirmation-phone-<lang>.png

    link = page.locator("a[href*='/confirm/']").first.get_attribute("href")
    assert link.endswith(f"?lang={lang}")
    other = open_page("phone", OTHER[lang])  # a browser that prefers the other language
    other.goto(link)
    assert other.locator("html").get_attribute("lang") == lang
    assert re.sub(r"\s+", " ", other.locator("h1").inner_text()).strip() == TEXT[lang]["confirm"]
