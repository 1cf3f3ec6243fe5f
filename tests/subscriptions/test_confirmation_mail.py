"""The confirmation mail a person recognises: the address, when, the trusted site, what they will
get, that doing nothing subscribes no one; no internal form name; links in the mail's language."""
from __future__ import annotations

import re

import pytest
from babel.dates import format_date, format_time
from sqlalchemy import select

from portal.extensions import db
from portal.subscriptions.models import SignupRequest
from tests.conftest import outbox
from tests.subscriptions.helpers import signup

#: (Accept-Language, what the mail says) for each language.
WORDS = {
    "en": {"address": "Email address: {}", "when": "When: {}, {} UTC", "site": "Site: {}",
           "get": "What you will receive:", "nothing": "If you do nothing, nothing happens: you will not be subscribed"},
    "id": {"address": "Alamat email: {}", "when": "Waktu: {}, pukul {} UTC", "site": "Situs: {}",
           "get": "Yang akan Anda terima:",
           "nothing": "Jika Anda tidak melakukan apa pun, tidak ada yang terjadi: Anda tidak akan didaftarkan"},
}


def _form(create_form, create_list, create_account):
    account = create_account(name="Kopi Nusantara")
    lists = [create_list(account, name="Roasts", description="New roasts a few times a year."),
             create_list(account, name="Offers", description="Our offers.")]
    return create_form(account, lists, name="internal-form-Q3-test", allowed_origins=["https://shop.example"])


@pytest.mark.parametrize("locale", ["en", "id"])
def test_the_mail_shows_address_time_trusted_site_lists_and_that_nothing_happens(
        client, create_form, create_list, create_account, locale):
    form = _form(create_form, create_list, create_account)
    signup(client, form, "Ann.Lee@Example.ORG", headers={"Accept-Language": locale, "Referer": "https://shop.example/join"})
    [mail] = outbox()
    asked_at = db.session.scalars(select(SignupRequest)).one().created_at
    words = WORDS[locale]
    for body in (mail.payload["text"], mail.payload["html"]):
        assert words["address"].format("Ann.Lee@example.org") in body
        assert words["when"].format(format_date(asked_at, "long", locale=locale),
                                    format_time(asked_at, "short", locale=locale)) in body
        assert words["site"].format("shop.example") in body
        assert words["get"] in body and words["nothing"] in body
        assert "New roasts a few times a year." in body and "Our offers." in body
        assert "internal-form-Q3-test" not in body  # the form's name is the customer's, not the person's
        assert ".." not in body.replace("...", "")


def test_the_date_is_written_in_the_mails_language(client, create_form, create_list, create_account):
    form = _form(create_form, create_list, create_account)
    signup(client, form, headers={"Accept-Language": "id"})
    [mail] = outbox()
    month = format_date(db.session.scalars(select(SignupRequest)).one().created_at, "MMMM", locale="id")
    assert re.search(rf"Waktu: \d+ {month} \d{{4}}, pukul \d\d\.\d\d UTC", mail.payload["text"])


@pytest.mark.parametrize("referer", [None, "https://evil.example/join", "https://shop.example.evil.example/", "HOSTED"])
def test_no_site_is_named_without_a_trusted_page_of_the_customer(client, create_form, create_list, create_account, referer):
    form = _form(create_form, create_list, create_account)
    referer = f"https://portal.test/f/{form.id}" if referer == "HOSTED" else referer  # the portal's page, not theirs
    signup(client, form, headers={"Referer": referer} if referer else {})
    [mail] = outbox()
    assert "Site:" not in mail.payload["text"] and "Site:" not in mail.payload["html"]
    assert "evil.example" not in mail.payload["text"]


@pytest.mark.parametrize("mail_locale,browser", [("id", "en"), ("en", "id")])
def test_the_confirmation_link_opens_in_the_mails_language_whatever_the_browser(
        client, create_form, mail_locale, browser):
    form = create_form()
    signup(client, form, headers={"Accept-Language": mail_locale})
    [mail] = outbox()
    links = re.findall(r"https://portal\.test(/confirm/[A-Za-z0-9._-]+\?lang=[a-z]+)", mail.payload["text"])
    assert links and all(link.endswith(f"?lang={mail_locale}") for link in links)
    assert f'href="https://portal.test{links[0]}"' in mail.payload["html"]
    page = client.get(links[0], headers={"Accept-Language": browser}).get_data(as_text=True)
    assert f'<html lang="{mail_locale}">' in page
    assert ("Konfirmasi langganan Anda" if mail_locale == "id" else "Confirm your subscription") in page


def test_the_subscribed_mail_links_carry_its_language(app, client, create_form):
    form = create_form()
    signup(client, form, headers={"Accept-Language": "id"})
    [confirmation] = outbox()
    path = re.search(r"https://portal\.test(/confirm/\S+)", confirmation.payload["text"]).group(1)
    assert client.post(path, data={"confirm": "1"}, headers={"Accept-Language": "en"}).status_code < 400
    [_confirmation, subscribed] = outbox()
    assert subscribed.kind == "subscribed" and subscribed.payload["locale"] == "id"
    urls = re.findall(r"https://portal\.test/\S+", subscribed.payload["text"])
    assert urls and all(url.endswith("?lang=id") for url in urls)
    # The List-Unsubscribe header is the one-click POST target: left as it is.
    assert "lang=" not in subscribed.payload["headers"]["List-Unsubscribe"]


def test_a_link_outside_the_portal_is_left_alone(app):
    from portal.links import in_language

    assert in_language("https://shop.example/privacy", "id") == "https://shop.example/privacy"
    assert in_language("https://portal.test/notices/x?lang=en", "id") == "https://portal.test/notices/x?lang=id"
    assert in_language("https://portal.test.evil.example/x", "id") == "https://portal.test.evil.example/x"
    assert in_language("https://portal.test/x", "fr") == "https://portal.test/x"
