"""Every journey's result page (issue 20), in Chromium, in English and Bahasa Indonesia, at phone
and desktop width, with the portal's anti-forgery checks on as in production.

One table row per journey: a real click posts the page's form, and the answer is a ``303`` to a
GET page of the result (Post/Redirect/Get). On that page: ``check_page`` (axe included, the
screenshot ``<journey>-<state>-<viewport>-<lang>.png``); a reload posts nothing; Back shows the
link's page in its new state (not the question again); the language switch keeps the state; the
link opened again in a fresh page shows the state; a token page shows the address masked and
never in full. Nothing after the one POST changes the ledger or the outbox.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import pytest
from sqlalchemy import func, select

from portal import links
from portal.addresses import mask
from portal.consent.evidence import RequestEvidence
from portal.consent.models import ConsentEvent
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.signup import operations as doi
from tests import factories
from tests.browser.conftest import check_page, screenshot
from tests.browser.test_cookies_blocked import guarded_server  # noqa: F401 (a fixture)
from tests.browser.test_journeys import deliver, h1

pytestmark = pytest.mark.browser

OTHER = {"en": "id", "id": "en"}
#: What each page says (the start of its h1, or of a notice), per language.
SAYS = {
    "en": {"subscribe": "Subscribe to", "inbox": "Check your inbox", "subscribed": "Thank you, you are subscribed",
           "declined": "You will not be subscribed", "again": "Sign up again", "left": "You have left",
           "left_all": "You have left everything from", "preferences": "Your email preferences",
           "saved": "Your choices are saved.", "asked": "we are sending a confirmation link",
           "pending": "waiting for your confirmation",
           "erased": "Your data is erased", "invalid": "This link is not valid", "erase": "Erase your data",
           "reported": "Thank you for your report"},
    "id": {"subscribe": "Berlangganan ke", "inbox": "Periksa kotak masuk Anda",
           "subscribed": "Terima kasih, Anda sudah berlangganan", "declined": "Anda tidak akan didaftarkan",
           "again": "Daftar lagi", "left": "Anda telah keluar dari",
           "left_all": "Anda telah berhenti menerima semua email dari", "preferences": "Preferensi email Anda",
           "saved": "Pilihan Anda telah disimpan.", "asked": "kami mengirimkan tautan konfirmasi",
           "pending": "menunggu konfirmasi Anda", "erased": "Data Anda telah dihapus",
           "invalid": "Tautan ini tidak valid", "erase": "Hapus data Anda",
           "reported": "Terima kasih atas laporan Anda"},
}


@dataclass
class Journey:
    """Where a journey starts, the form it posts, and what each later view of it must show."""

    start: str  #: the URL the person opens (a link from a mail, or a page)
    act: Callable  #: ``act(page)``: fill the form; the test clicks ``button``
    result: str  #: SAYS key: the result page's h1
    back: str  #: SAYS key: the h1 of the page Back leads to (the link's page, in its new state)
    reopen: str | None = None  #: what is opened again: ``"result"``, the result's URL; else ``start``
    reopened: str | None = None  #: SAYS key of what it shows (default: ``result``)
    button: str = "main form [type=submit]"
    sender: tuple[str, str] | None = None
    address: str | None = None  #: the person's address: never in full on a page
    masked: bool = True  #: the result page names the address, masked
    shows: Callable | None = None  #: ``shows(page, lang)``: what else the result says (asserts)
    names_sender_when_reopened: bool = False


def _sender(account) -> tuple[str, str]:
    return account.name, account.postal_address


def _subscriber(email: str, names=("Weekly news",)):
    """A person confirmed on each named list of a new account."""
    account = factories.create_account()
    contact = factories.create_contact(account, email=email)
    lists = [factories.create_list(account, name=name) for name in names]
    for mailing_list in lists:
        factories.create_subscription(contact, mailing_list)
    return account, contact, lists


def _pending_link(app, email: str, lang: str) -> tuple[str, tuple[str, str]]:
    """A signup waiting for its "yes": the confirmation link from its mail, and the sender."""
    form = factories.create_form(allowed_origins=["https://shop.example"])
    doi.request_signup(form, email=email, evidence=RequestEvidence(ip=None, user_agent=None, page_url=None),
                       locale=lang)
    db.session.commit()
    sender = _sender(form.account)
    return deliver(app, email, "/confirm/")[1], sender


def signup(app, server, lang, email):
    form = factories.create_form()
    start = f"{server.url}/f/{form.id}"
    return Journey(start, lambda page: page.fill("#email", email), "inbox", "subscribe",
                   sender=_sender(form.account), address=email, reopen="result", reopened="inbox")


def confirm(app, server, lang, email):
    link, sender = _pending_link(app, email, lang)
    return Journey(link, lambda page: None, "subscribed", "subscribed", button="input[name=confirm]",
                   sender=sender, address=email, shows=_subscribed_shows)


def _subscribed_shows(page, lang):
    assert page.locator("a[href*='/receipts/']").count() == 1
    assert page.locator("a[href*='/preferences/']").count() == 1


def decline(app, server, lang, email):
    link, sender = _pending_link(app, email, lang)
    # The declined page names no address, by design (portal.signup.operations.current).
    return Journey(link, lambda page: None, "declined", "declined", button="input[name=decline]",
                   sender=sender, address=email, masked=False, shows=_declined_shows)


def _declined_shows(page, lang):
    again = page.locator("main a[href*='/f/']")
    assert again.inner_text().strip() == SAYS[lang]["again"]  # a way to sign up again


def unsubscribe(app, server, lang, email):
    account, contact, [news] = _subscriber(email)
    url = links.unsubscribe_url(links.Target(contact.id, news.id, None))
    return Journey(url, lambda page: None, "left", "left", sender=_sender(account), address=email,
                   shows=_left_shows)


def _left_shows(page, lang):
    assert "Weekly news" in h1(page)
    assert page.locator("main form[action*='/undo']").count() == 1  # what can be done: undo,
    assert page.locator("main form[action*='/reason']").count() == 1  # say why,
    assert page.locator("main a[href*='/preferences/']").count() >= 1  # come back by double opt-in


def leave_everything(app, server, lang, email):
    account, contact, [news] = _subscriber(email)
    url = links.unsubscribe_url(links.Target(contact.id, news.id, None))
    return Journey(url, lambda page: page.check("input[name=scope][value=account]"), "left_all", "left_all",
                   sender=_sender(account), address=email,
                   shows=lambda page, lang: page.locator("main a[href*='/preferences/']").first.wait_for())


def centre_save(app, server, lang, email):
    account, contact, [news, offers] = _subscriber(email, names=("Weekly news", "Special offers"))
    url = links.preferences_url(links.Target(contact.id, news.id, None))
    offers_id = offers.id

    def left_offers(page, lang):
        assert page.locator("[role=status]").inner_text().strip() == SAYS[lang]["saved"]
        assert not page.locator(f"input[value='{offers_id}']").is_checked()

    return Journey(url, lambda page: page.uncheck(f"input[value='{offers_id}']"), "preferences", "preferences",
                   button="button[name=save]", sender=_sender(account), address=email, shows=left_offers)


def centre_join(app, server, lang, email):
    account, contact, [news] = _subscriber(email)
    deals = factories.create_form(account, [factories.create_list(account, name="Weekly deals")]).lists[0]
    url = links.preferences_url(links.Target(contact.id, news.id, None))
    deals_id = deals.id

    def asked(page, lang):
        assert SAYS[lang]["asked"] in page.locator("[role=status]").inner_text()  # check your inbox
        box = page.locator(f"input[value='{deals_id}']").get_attribute("id")
        assert SAYS[lang]["pending"] in page.locator(f"#{box}-state").inner_text()  # until they confirm

    return Journey(url, lambda page: page.check(f"input[value='{deals_id}']"), "preferences", "preferences",
                   button="button[name=save]", sender=_sender(account), address=email, shows=asked)


def manage_link(app, server, lang, email):
    _subscriber(email)
    return Journey(f"{server.url}/manage", lambda page: page.fill("#email", email), "inbox", "manage_page",
                   masked=False, address=email, reopen="result")


def erase_request(app, server, lang, email):
    account, contact, [news] = _subscriber(email)
    url = links.preferences_url(links.Target(contact.id, news.id, None)) + "/erase"
    return Journey(url, lambda page: None, "inbox", "erase", sender=_sender(account), address=email,
                   masked=False, reopened="erase")


def erasure(app, server, lang, email):
    account, contact, _lists = _subscriber(email)
    return Journey(links.erase_url(contact.id), lambda page: None, "erased", "invalid", sender=_sender(account),
                   address=email, masked=False, reopened="invalid", names_sender_when_reopened=True)


def complaint(app, server, lang, email):
    account, contact, [news] = _subscriber(email)
    url = links.complaint_url(links.Target(contact.id, news.id, "<weekly-1@shop.example>"))
    return Journey(url, lambda page: page.check("input[name=category][value=not_requested]"), "reported",
                   "reported", sender=_sender(account), address=email, masked=False)


#: (name, builder): the screenshot's ``<journey>-<state>`` and the row's Journey.
JOURNEYS = [("signup-check-inbox", signup), ("confirm-subscribed", confirm), ("decline-declined", decline),
            ("unsubscribe-left-list", unsubscribe), ("leave-everything-left", leave_everything),
            ("centre-saved", centre_save), ("centre-join-asked", centre_join), ("manage-link-sent", manage_link),
            ("erase-request-sent", erase_request), ("erasure-erased", erasure), ("complaint-reported", complaint)]


def _changes() -> tuple[int, int]:
    """Ledger events and outbox messages so far: what a GET must never add to."""
    db.session.commit()
    return (db.session.scalar(select(func.count()).select_from(ConsentEvent)),
            db.session.scalar(select(func.count()).select_from(OutboxMessage)))


def _says(page, key: str | None, lang: str) -> None:
    """The page is in ``lang`` and its h1 starts with SAYS[lang][key] (``manage_page``: the
    "send me a link" form, whose h1 is the site's)."""
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == lang
    if key == "manage_page":
        assert page.locator("main form input#email").count() == 1
    else:
        assert re.sub(r"\s+", " ", h1(page)).startswith(SAYS[lang][key]), (h1(page), key)


def _never_in_full(page, journey: Journey) -> None:
    html = page.content()
    assert journey.address not in html, "the full address is on the page"


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["en", "id"])
@pytest.mark.parametrize("name,build", JOURNEYS, ids=[name for name, _ in JOURNEYS])
def test_the_result_page_keeps_its_state(app, guarded_server, open_page, name, build, lang, viewport):  # noqa: F811
    email = f"{name.split('-')[0]}.{lang}.{viewport}@example.org"
    journey = build(app, guarded_server, lang, email)
    page = open_page(viewport, lang)
    posts, answers = [], []
    page.context.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.context.on("response", lambda response: answers.append(response.status)
                    if response.request.method == "POST" else None)

    # The journey: the link's page, its form, one real click.
    page.goto(journey.start)
    journey.act(page)
    with page.expect_navigation():
        page.locator(journey.button).first.click()
    assert answers == [303], "a form's answer is a redirect to a GET page"
    result_url = page.url
    _says(page, journey.result, lang)
    check_page(page, name, lang, journey.sender)
    if journey.masked:
        assert mask(journey.address) in page.locator("main").inner_text()
    _never_in_full(page, journey)
    if journey.shows:
        journey.shows(page, lang)
    before = _changes()

    page.reload()  # a GET: no "Confirm Form Resubmission", nothing posted again
    _says(page, journey.result, lang)
    page.go_back()  # the page the form was on, as it stands now
    _says(page, journey.back, lang)
    _never_in_full(page, journey)
    if journey.back == "invalid":
        assert journey.sender[0] in page.locator("main").inner_text() + page.locator("footer").inner_text()
    page.go_forward()
    _says(page, journey.result, lang)

    other = OTHER[lang]
    page.locator(f"nav.lang a[hreflang={other}]").click()
    page.wait_for_url(re.compile(rf"[?&]lang={other}"))
    _says(page, journey.result, other)  # the same result, in the other language
    if journey.masked:
        assert mask(journey.address) in page.locator("main").inner_text()
    if journey.shows:
        journey.shows(page, other)
    _never_in_full(page, journey)

    again = page.context.new_page()  # the link opened again later
    again.viewport_name = page.viewport_name
    again.goto(result_url if journey.reopen == "result" else journey.start)
    _says(again, journey.reopened or journey.result, lang)
    _never_in_full(again, journey)
    if journey.names_sender_when_reopened:
        assert journey.sender[0] in again.locator("body").inner_text()
        screenshot(again, f"{name.rsplit('-', 1)[0]}-reopened-invalid-link")

    assert len(posts) == 1 and _changes() == before, "only the one click posted or changed anything"
