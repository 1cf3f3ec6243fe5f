"""Every user-visible string is translated into Bahasa Indonesia, and pages pick the locale."""
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "pgettext": ((1, "c"), 2)}


def extracted_messages() -> set[str]:
    """Every msgid in the code and templates, as `make extract` finds them."""
    method_map = [("portal/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(locale: str):
    with open(ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle)


def test_every_string_has_an_indonesian_translation():
    messages = catalog("id")
    missing = sorted(m for m in extracted_messages()
                     if not (messages.get(m) and messages.get(m).string and not messages.get(m).fuzzy))
    assert missing == [], "untranslated (run `make extract`, then translate): " + "; ".join(missing)


@pytest.mark.parametrize("query,accept,expected_lang,expected", [
    ("?lang=id", "en", "id", "Tautan ini tidak valid"),
    ("", "id-ID,id;q=0.9,en;q=0.5", "id", "Tautan ini tidak valid"),
    ("?lang=en", "id", "en", "This link is not valid"),
    ("", "fr", "en", "This link is not valid"),
])
def test_locale_from_lang_then_accept_language(client, query, accept, expected_lang, expected):
    response = client.get(f"/unsubscribe/bad-token{query}", headers={"Accept-Language": accept, "Accept": "text/html"})
    text = response.get_data(as_text=True)
    assert f'<html lang="{expected_lang}">' in text
    assert expected in text


PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")


def test_translations_keep_every_placeholder_and_indonesian_has_one_plural_form():
    messages = catalog("id")
    assert messages.num_plurals == 1 and messages.plural_expr == "0"
    for message in messages:
        if message.id and message.string:
            assert sorted(PLACEHOLDER.findall(message.id)) == sorted(PLACEHOLDER.findall(message.string)), message.id


def request(app, client, method: str, path: str, **kwargs):
    """One request in its own app context, as in production: ``g`` (and Flask-Babel's locale cache
    on it) does not leak from an earlier request of the same test."""
    with app.app_context():
        return client.open(path, method=method, **kwargs)


def _paths(create_form, create_subscription) -> dict[str, str]:
    """One URL of every subscriber page, for one account whose default locale is Indonesian."""
    from portal import links

    form = create_form(account=None, allowed_origins=["https://shop.example"])
    account = form.account
    account.locale = "id"
    subscription = create_subscription(mailing_list=form.lists[0])
    target = links.Target(subscription.contact_id, subscription.list_id, None)
    path = lambda url: urlsplit(url).path  # noqa: E731
    return {"signup": f"/f/{form.id}", "thanks": f"/f/{form.id}/thanks",
            "unsubscribe": path(links.unsubscribe_url(target)), "preferences": path(links.preferences_url(target)),
            "complaint": path(links.complaint_url(target)),
            "data": path(links.preferences_url(target)) + "/data", "erase": path(links.preferences_url(target)) + "/erase",
            "erase_confirm": path(links.erase_url(subscription.contact_id))}


def test_every_page_falls_back_to_the_accounts_locale(app, client, db, create_form, create_subscription):
    paths = _paths(create_form, create_subscription)
    db.session.commit()
    for name, path in paths.items():
        response = request(app, client, "GET", path)  # no Accept-Language, no ?lang
        text = response.get_data(as_text=True)
        assert response.status_code == 200, name
        assert '<html lang="id">' in text, name
        assert "Bahasa Indonesia</span>" in text, name  # the switch marks the current language


def test_confirmation_mail_and_confirm_page_in_the_language_of_the_signup_page(app, client, create_form):
    from tests.conftest import outbox
    from tests.subscriptions.helpers import confirm_path

    form = create_form()  # an English account
    page = request(app, client, "GET", f"/f/{form.id}?lang=id").get_data(as_text=True)
    assert f'action="/f/{form.id}?lang=id"' in page
    response = request(app, client, "POST", f"/f/{form.id}?lang=id", data={"email": "ani@example.org"})
    location = response.headers["Location"]
    assert location.split("?")[0].endswith(f"/f/{form.id}/thanks") and location.endswith("lang=id")
    assert "Periksa kotak masuk Anda" in request(app, client, "GET", response.headers["Location"]).get_data(as_text=True)
    (mail,) = outbox()
    assert mail.payload["subject"] == f"Mohon konfirmasi langganan Anda ke {form.account.name}"
    assert "Kami memerlukan konfirmasi Anda" in mail.payload["text"]
    assert 'lang="id"' in mail.payload["html"]
    confirm_page = request(app, client, "GET", confirm_path(mail), headers={"Accept-Language": "id-ID,id;q=0.9"})
    assert "Konfirmasi langganan Anda" in confirm_page.get_data(as_text=True)


def test_forms_post_back_in_the_chosen_language(app, client, db, create_form, create_subscription):
    paths = _paths(create_form, create_subscription)
    db.session.commit()
    page = request(app, client, "GET", paths["unsubscribe"] + "?lang=en", headers={"Accept-Language": "id"}).get_data(as_text=True)
    assert f'action="{paths["unsubscribe"]}?lang=en"' in page
    assert f'{paths["preferences"]}?lang=en"' in page  # links keep it too
    done = request(app, client, "POST", paths["unsubscribe"] + "?lang=en", data={"scope": "list"},
                   headers={"Accept-Language": "id"})
    # Post/Redirect/Get: the answer is a GET page of the result, in the language chosen.
    assert done.status_code == 303 and done.headers["Location"].endswith(paths["unsubscribe"] + "?lang=en")
    result = request(app, client, "GET", paths["unsubscribe"] + "?lang=en", headers={"Accept-Language": "id"})
    assert "You are unsubscribed" in result.get_data(as_text=True)
    thanks = request(app, client, "POST", paths["unsubscribe"] + "/reason?lang=id", data={"reason": "other"})
    assert thanks.status_code == 303 and thanks.headers["Location"].endswith("/thanks?lang=id")
    text = request(app, client, "GET", paths["unsubscribe"] + "/thanks?lang=id").get_data(as_text=True)
    assert "Terima kasih" in text
    # A GET page: its language switch keeps the page.
    assert 'href="?lang=en" lang="en"' in text


def test_the_language_switch_keeps_the_pages_state(app, client, create_form):
    """The check-inbox page's state is in its query (the sealed masked address, the site): the
    switch keeps it, with only ``lang`` changed."""
    form = create_form(allowed_origins=["https://shop.example"])
    response = request(app, client, "POST", f"/f/{form.id}?lang=id",
                       data={"email": "ani@example.org", "page_url": "https://shop.example/join"})
    text = request(app, client, "GET", response.headers["Location"]).get_data(as_text=True)
    switch = re.search(r'<a href="([^"]+)" lang="en" hreflang="en">', text).group(1).replace("&amp;", "&")
    assert switch.startswith("?to=") and "&site=https%3A%2F%2Fshop.example" in switch and switch.endswith("&lang=en")
    english = request(app, client, "GET", f"/f/{form.id}/thanks{switch}").get_data(as_text=True)
    assert "Check your inbox" in english and "a***@example.org" in english
