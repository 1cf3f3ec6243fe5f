"""Subscriber journeys in Debian's Chromium, in English and Bahasa Indonesia.

Each page on the way is checked by ``check_page``: ``<html lang>``, one h1, the language switch,
the account's name and postal address, no sideways scrolling, no serious or critical axe-core
violation; a screenshot of each lands in test-artifacts/screenshots/.
"""
from __future__ import annotations

import json
import re
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from portal import links
from portal.complaints.models import Complaint
from portal.extensions import db
from portal.outbox import worker
from portal.subscriptions.models import Contact, Subscription
from portal.subscriptions.operations import embed_html, find_contact
from tests.browser.conftest import assert_fits_width, check_page, screenshot, serious_violations

pytestmark = pytest.mark.browser

#: What the person reads, per language (the h1 of each step, the mail subjects).
TEXT = {
    "en": {"thanks": "Check your inbox", "confirm": "Confirm your subscription",
           "confirmed": "Thank you, you are subscribed", "unsubscribe": "Unsubscribe",
           "unsubscribed": "You have left everything from", "left": "You have left", "reason_thanks": "Thank you",
           "preferences": "Your email preferences", "saved": "Your choices are saved.",
           "data": "Download your data", "erase": "Erase your data", "erase_confirm": "Confirm erasure",
           "erased": "Your data is erased", "report": "Report a message from", "reported": "Thank you for your report",
           "confirm_subject": "Please confirm your subscription to", "erase_subject": "Confirm: erase your data"},
    "id": {"thanks": "Periksa kotak masuk Anda", "confirm": "Konfirmasi langganan Anda",
           "confirmed": "Terima kasih, Anda sudah berlangganan", "unsubscribe": "Berhenti berlangganan",
           "unsubscribed": "Anda telah berhenti menerima semua email dari", "left": "Anda telah keluar dari",
           "reason_thanks": "Terima kasih",
           "preferences": "Preferensi email Anda", "saved": "Pilihan Anda telah disimpan.",
           "data": "Unduh data Anda", "erase": "Hapus data Anda", "erase_confirm": "Konfirmasi penghapusan",
           "erased": "Data Anda telah dihapus", "report": "Laporkan pesan dari",
           "reported": "Terima kasih atas laporan Anda",
           "confirm_subject": "Mohon konfirmasi langganan Anda ke", "erase_subject": "Konfirmasi: hapus data Anda"},
}


def h1(page) -> str:
    return page.locator("h1").inner_text().strip()


def deliver(app, recipient: str, path: str):
    """Run the outbox worker once (mail lands as .eml files); the newest mail to ``recipient``
    and the portal link under ``path`` (``/confirm/``, ``/erase/``) in its text."""
    worker.run_once()
    db.session.commit()
    mails = [message_from_bytes(eml.read_bytes(), policy=policy.default)
             for eml in sorted(Path(app.config["PORTAL_OUTBOX_DIR"]).glob("*.eml"), key=lambda p: p.stat().st_mtime)]
    mail = [m for m in mails if m["To"] == recipient][-1]
    text = mail.get_body(("plain",)).get_content()
    link = re.search(rf"{re.escape(app.config['PORTAL_BASE_URL'])}{path}[A-Za-z0-9._-]+", text).group(0)
    return mail, link


def sender_of(account) -> tuple[str, str]:
    return account.name, account.postal_address


def subscription_status(contact_id: int, list_id: str) -> str:
    db.session.commit()
    return db.session.scalars(select(Subscription.status).where(
        Subscription.contact_id == contact_id, Subscription.list_id == list_id)).one()


def _signup_confirm_unsubscribe(app, live_server, page, form, lang: str, email: str) -> None:
    """Hosted page -> "check your inbox" -> the mail -> confirm -> unsubscribe -> reason."""
    form_id, list_id, account_id, sender = form.id, form.lists[0].id, form.account_id, sender_of(form.account)
    db.session.commit()
    page.goto(f"{live_server.url}/f/{form_id}?lang={lang}")
    check_page(page, "signup", lang, sender)
    page.fill("#email", email)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/thanks"))
    assert h1(page) == TEXT[lang]["thanks"]
    check_page(page, "signup-thanks", lang, sender)

    mail, link = deliver(app, email, "/confirm/")
    assert mail["Subject"].startswith(TEXT[lang]["confirm_subject"])
    page.goto(link)  # as from the mail: no ?lang, the browser's language decides
    assert h1(page) == TEXT[lang]["confirm"]
    check_page(page, "confirm", lang, sender)
    page.locator("input[name=confirm]").click()
    page.wait_for_load_state()
    assert h1(page) == TEXT[lang]["confirmed"]
    check_page(page, "confirmed", lang, sender)
    contact_id = find_contact(account_id, email).id
    assert subscription_status(contact_id, list_id) == "confirmed"

    page.goto(links.unsubscribe_url(links.Target(contact_id, list_id, None)))
    assert h1(page) == TEXT[lang]["unsubscribe"]
    check_page(page, "unsubscribe", lang, sender)
    page.check("input[name=scope][value=account]")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    assert h1(page) == f'{TEXT[lang]["unsubscribed"]} {sender[0]}'
    check_page(page, "unsubscribed", lang, sender)
    assert subscription_status(contact_id, list_id) == "unsubscribed"
    page.check("input[name=reason][value=too_frequent]")
    page.locator("form").first.locator("button").click()
    page.wait_for_load_state()
    assert h1(page) == TEXT[lang]["reason_thanks"]
    check_page(page, "unsubscribe-reason", lang, sender)


@pytest.mark.parametrize("lang,viewport", [("en", "phone"), ("id", "phone"), ("en", "desktop")])
def test_hosted_signup_confirm_from_the_mail_and_unsubscribe(app, live_server, open_page, create_form, lang, viewport):
    page = open_page(viewport, lang)
    _signup_confirm_unsubscribe(app, live_server, page, create_form(), lang, f"ann.{lang}.{viewport}@example.org")


def test_signup_confirm_and_unsubscribe_work_without_javascript(app, live_server, open_page, create_form):
    page = open_page("phone", "id", js=False)
    _signup_confirm_unsubscribe(app, live_server, page, create_form(), "id", "nojs@example.org")


def _shop_page(lang: str, body: str) -> str:
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop</title></head>'
            f'<body><main><h1>Shop</h1>{body}</main></body></html>')


@pytest.mark.parametrize("lang", ["en", "id"])
def test_signup_from_the_embed_snippet_on_another_origin(app, live_server, other_origin, open_page, create_account,
                                                        create_list, create_form, lang):
    account = create_account(locale=lang)
    thanks_url = other_origin.publish("thanks.html", _shop_page(lang, "<p>Thanks from the shop</p>"))
    form = create_form(lists=[create_list(account)], allowed_origins=[other_origin.origin], redirect_url=thanks_url)
    news_url = other_origin.publish("news.html", _shop_page(lang, embed_html(form)))
    sender = sender_of(account)
    db.session.commit()

    page = open_page("phone", lang)
    page.goto(news_url)
    assert serious_violations(page) == []  # the snippet is accessible on a plain page
    assert_fits_width(page)
    screenshot(page, f"embed-on-shop-{lang}")
    page.fill("input[name=email]", f"embed.{lang}@example.org")
    page.locator("form button[type=submit]").click()
    page.wait_for_url(thanks_url)  # the portal's 303 back to the shop

    mail, link = deliver(app, f"embed.{lang}@example.org", "/confirm/")
    assert mail["Subject"].startswith(TEXT[lang]["confirm_subject"])
    assert "shop.test" in mail.get_body(("plain",)).get_content()  # where the request came from
    page.goto(link)
    check_page(page, "confirm-from-embed", lang, sender)
    page.locator("input[name=confirm]").click()
    page.wait_for_load_state()
    assert h1(page) == TEXT[lang]["confirmed"]


def test_hosted_form_can_be_framed_only_by_its_allowed_origins(app, live_server, other_origin, open_page,
                                                               create_form):
    thanks_url = other_origin.publish("thanks.html", _shop_page("en", "<p>Thanks</p>"))
    allowed = create_form(allowed_origins=[other_origin.origin], redirect_url=thanks_url)
    refused = create_form()
    frames = (f'<iframe name="allowed" title="Newsletter" src="{live_server.url}/f/{allowed.id}"></iframe>'
              f'<iframe name="refused" title="Other" src="{live_server.url}/f/{refused.id}"></iframe>')
    page_url = other_origin.publish("frames.html", _shop_page("en", frames))
    db.session.commit()

    page = open_page("desktop", "en")
    page.goto(page_url)
    page.wait_for_load_state("load")
    inside = page.frame(name="allowed")
    assert inside.locator("h1").inner_text().startswith("Subscribe to")
    assert page.frame(name="refused").locator("#email").count() == 0  # blocked by frame-ancestors
    screenshot(page, "framed")
    inside.fill("#email", "framed@example.org")
    inside.locator("button[type=submit]").click()
    inside.wait_for_url(thanks_url)  # form-action lets the form redirect to the shop


@pytest.mark.parametrize("lang,viewport", [("en", "desktop"), ("id", "phone")])
def test_preference_centre_download_and_erase(app, live_server, open_page, create_account, create_list,
                                              create_contact, create_subscription, lang, viewport):
    account = create_account()
    news, offers = create_list(account, name="Weekly news"), create_list(account, name="Special offers")
    contact = create_contact(account, email=f"prefs.{lang}@example.org")
    create_subscription(contact, news)
    create_subscription(contact, offers)
    contact_id, news_id, offers_id, sender = contact.id, news.id, offers.id, sender_of(account)
    url = links.preferences_url(links.Target(contact_id, news_id, None))
    db.session.commit()

    page = open_page(viewport, lang)
    page.goto(url)
    assert h1(page) == TEXT[lang]["preferences"]
    check_page(page, "preferences", lang, sender)
    page.uncheck(f"input[value='{offers_id}']")
    page.locator("button[name=save]").click()
    page.wait_for_load_state()
    assert page.locator("[role=status]").inner_text().strip() == TEXT[lang]["saved"]
    check_page(page, "preferences-saved", lang, sender)
    assert subscription_status(contact_id, offers_id) == "unsubscribed"
    assert subscription_status(contact_id, news_id) == "confirmed"

    page.locator("a[href*='/data']").click()
    assert h1(page) == TEXT[lang]["data"]
    check_page(page, "data", lang, sender)
    with page.expect_download() as download:
        page.locator("main button[type=submit]").click()
    assert download.value.suggested_filename == "my-data.json"
    assert f"prefs.{lang}@example.org" in json.dumps(json.loads(Path(download.value.path()).read_text()))

    page.goto(url)
    page.locator("a[href*='/erase']").click()
    assert h1(page) == TEXT[lang]["erase"]
    check_page(page, "erase", lang, sender)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    assert h1(page) == TEXT[lang]["thanks"]
    check_page(page, "erase-sent", lang, sender)
    mail, link = deliver(app, f"prefs.{lang}@example.org", "/erase/")
    assert mail["Subject"].startswith(TEXT[lang]["erase_subject"])
    page.goto(link)
    assert h1(page) == TEXT[lang]["erase_confirm"]
    check_page(page, "erase-confirm", lang, sender)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    assert h1(page) == TEXT[lang]["erased"]
    check_page(page, "erased", lang, sender)
    db.session.commit()
    assert db.session.get(Contact, contact_id) is None or db.session.get(Contact, contact_id).email != f"prefs.{lang}@example.org"


@pytest.mark.parametrize("lang,viewport", [("en", "phone"), ("id", "desktop")])
def test_report_abuse(app, live_server, open_page, create_subscription, lang, viewport):
    subscription = create_subscription()
    contact_id, list_id = subscription.contact_id, subscription.list_id
    sender = sender_of(subscription.contact.account)
    url = links.complaint_url(links.Target(contact_id, list_id, None))
    db.session.commit()

    page = open_page(viewport, lang)
    page.goto(url)
    assert h1(page).startswith(TEXT[lang]["report"])
    check_page(page, "complaint", lang, sender)
    page.locator("main form [type=submit]").click()  # no category chosen: told so, nothing recorded
    page.wait_for_load_state()
    assert page.locator("[role=alert]").count() == 1
    check_page(page, "complaint-missing-category", lang, sender)
    page.check("input[name=category][value=not_requested]")
    page.fill("textarea", "Saya tidak pernah mendaftar." if lang == "id" else "I never signed up.")
    page.locator("main form [type=submit]").click()
    page.wait_for_load_state()
    assert h1(page) == TEXT[lang]["reported"]
    check_page(page, "complaint-done", lang, sender)
    db.session.commit()
    assert db.session.scalars(select(Complaint).where(Complaint.contact_id == contact_id)).one()


def test_language_switch_on_a_token_page_and_through_its_form(app, live_server, open_page, create_subscription):
    subscription = create_subscription()
    url = links.unsubscribe_url(links.Target(subscription.contact_id, subscription.list_id, None))
    db.session.commit()

    page = open_page("phone", "en")
    page.goto(url)
    assert page.locator("html").get_attribute("lang") == "en"
    page.locator("nav.lang a[hreflang=id]").click()
    page.wait_for_load_state()
    assert page.url == url + "?lang=id" and h1(page) == TEXT["id"]["unsubscribe"]
    page.locator("main form button[type=submit]").click()  # the English browser posts in Indonesian
    page.wait_for_load_state()
    assert h1(page).startswith(TEXT["id"]["left"])
    check_page(page, "switched-language", "id")
