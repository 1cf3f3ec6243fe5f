"""An account's branding on its pages and mails: its accent colour in one <style> element that the
page's CSP allows by its hash (never 'unsafe-inline'), its display name in the header and the
sentences that name it, its legal name with the postal address in the footer."""
import base64
import hashlib
import re

from portal.extensions import db
from portal.subscriptions.models import Form
from tests.conftest import outbox
from tests.subscriptions.helpers import signup
from tests.test_i18n import _paths, request
from tests.test_page_security import _csp

STYLE = re.compile(r"<style>(.*?)</style>", re.S)
#: The complaint pages speak as the platform about the sender reported: no sender colour there.
PLATFORM_PAGES = {"complaint"}


def _hash(text: str) -> str:
    """The CSP hash source of an element's text, computed here independently of the portal."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def _account_pages(create_form, create_subscription, **branding):
    """One URL of every subscriber page of a new account (``branding`` set on it), and the account."""
    paths = _paths(create_form, create_subscription)
    account = db.session.get(Form, paths["signup"].split("/")[2]).account
    for name, value in branding.items():
        setattr(account, name, value)
    db.session.commit()
    return paths, account


def test_every_page_of_an_account_with_an_accent_has_its_style_allowed_by_its_hash(app, client, create_form,
                                                                                 create_subscription):
    paths, _account = _account_pages(create_form, create_subscription, accent_colour="#7a1f5c")
    for name, path in paths.items():
        response = request(app, client, "GET", path)
        html, csp = response.get_data(as_text=True), _csp(response)
        assert response.status_code == 200, name
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"], name
        if name in PLATFORM_PAGES:
            assert "<style" not in html and csp["style-src"] == "'self'", name
            continue
        [css] = STYLE.findall(html)
        assert css == ":root{--accent:#7a1f5c;--accent-dark:#62194a}", name
        assert html.count("<style") == 1 and csp["style-src"] == f"'self' {_hash(css)}", name
        assert not re.search(r"\sstyle=|<script", html), name  # still no inline style attribute


def test_the_hosted_form_keeps_its_framing_beside_the_style_hash(app, client, create_form, create_subscription):
    paths, _account = _account_pages(create_form, create_subscription, accent_colour="#0b5cad")
    csp = _csp(request(app, client, "GET", paths["signup"]))
    assert csp["frame-ancestors"] == "https://shop.example"
    assert csp["style-src"] == f"'self' {_hash(':root{--accent:#0b5cad;--accent-dark:#094a8a}')}"


def test_pages_of_an_account_without_accent_or_of_no_account_have_no_style(app, client, create_form,
                                                                           create_subscription):
    branded, _ = _account_pages(create_form, create_subscription, accent_colour="#7a1f5c")
    plain, _ = _account_pages(create_form, create_subscription)
    # A branded page first: its hash must not leak into the next response of the same app context.
    for path in (branded["signup"], plain["signup"], plain["preferences"], "/", "/manage", "/manage/sent",
                 "/no-such-page", plain["preferences"] + "x"):
        response = request(app, client, "GET", path)
        html = response.get_data(as_text=True)
        if path == branded["signup"]:
            assert "<style>" in html
            continue
        assert "<style" not in html and _csp(response)["style-src"] == "'self'", path


def test_a_stored_value_that_is_no_colour_never_reaches_the_page(app, client, create_form, create_subscription):
    """Only #rrggbb is ever written into the element, whatever a row holds (written around the API)."""
    paths, _account = _account_pages(create_form, create_subscription,
                                     accent_colour="red}*{x")
    response = request(app, client, "GET", paths["signup"])
    assert "<style" not in response.get_data(as_text=True) and _csp(response)["style-src"] == "'self'"


def test_pages_show_the_display_name_and_keep_the_legal_name_in_the_footer(app, client, create_form,
                                                                         create_subscription):
    paths, account = _account_pages(create_form, create_subscription, name="PT Kopi Nusantara Sejahtera Tbk",
                                    display_name="Kopi Nusantara")
    for name, path in paths.items():
        html = request(app, client, "GET", path, query_string={"lang": "en"}).get_data(as_text=True)
        header = html.split('<header class="site">')[1].split("</header>")[0]
        footer = html.split('<footer class="site">')[1].split("</footer>")[0]
        assert "PT Kopi Nusantara Sejahtera Tbk" in footer and "Jl. Merdeka 1" in footer, name
        if name in PLATFORM_PAGES:
            assert "Consent Portal" in header, name
        else:
            assert '<p class="sender">Kopi Nusantara</p>' in header, name
            assert "PT Kopi" not in header, name
        assert "· Kopi Nusantara</title>" in html, name
    signup_page = request(app, client, "GET", paths["signup"], query_string={"lang": "en"}).get_data(as_text=True)
    assert "<h1>Subscribe to Kopi Nusantara</h1>" in signup_page
    preferences = request(app, client, "GET", paths["preferences"], query_string={"lang": "en"}).get_data(as_text=True)
    assert "Lists of Kopi Nusantara" in preferences


def test_privacy_and_complaint_pages_name_the_legal_sender_beside_the_display_name(app, client, create_form,
                                                                                  create_subscription):
    paths, _account = _account_pages(create_form, create_subscription, name="PT Kopi Nusantara Sejahtera Tbk",
                                     display_name="Kopi Nusantara")
    both = "Kopi Nusantara (PT Kopi Nusantara Sejahtera Tbk)"
    for name in ("data", "erase", "erase_confirm", "complaint"):
        html = request(app, client, "GET", paths[name], query_string={"lang": "en"}).get_data(as_text=True)
        main = html.split('<main id="main">')[1].split("</main>")[0]
        assert both in main, name
    complaint = request(app, client, "GET", paths["complaint"], query_string={"lang": "en"}).get_data(as_text=True)
    assert f"You are reporting {both}, the sender of the message" in complaint
    assert "<h1>Report a message from Kopi Nusantara</h1>" in complaint


def test_without_a_display_name_pages_use_the_name_alone(app, client, create_form, create_subscription):
    paths, account = _account_pages(create_form, create_subscription, name="Toko Kopi")
    html = request(app, client, "GET", paths["data"], query_string={"lang": "en"}).get_data(as_text=True)
    assert '<p class="sender">Toko Kopi</p>' in html and "Toko Kopi (" not in html


def test_mail_buttons_take_the_accent_else_the_portal_colour(client, create_form, create_account):
    branded = create_form(account=create_account(accent_colour="#7a1f5c"))
    plain = create_form()
    signup(client, branded, "ann@example.org")
    signup(client, plain, "bob@example.org")
    first, second = outbox()
    assert "background:#7a1f5c;" in first.payload["html"] and "#1f5fbf" not in first.payload["html"]
    assert "background:#1f5fbf;" in second.payload["html"] and "#7a1f5c" not in second.payload["html"]


def test_a_privacy_notice_names_its_legal_owner_beside_the_display_name(app, client, account_auth, create_account):
    from tests.notices.test_notices import publish

    account = create_account(name="PT Kopi Nusantara Sejahtera Tbk", display_name="Kopi Nusantara")
    notice = publish(client, account_auth(account), account.id).get_json()
    html = request(app, client, "GET", f"/privacy-notices/{notice['id']}?lang=en").get_data(as_text=True)
    assert "<h1>Privacy notice of Kopi Nusantara (PT Kopi Nusantara Sejahtera Tbk)</h1>" in html
    assert '<p class="sender">Kopi Nusantara</p>' in html
