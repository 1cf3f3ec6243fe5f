"""Every user-visible string is translated into Bahasa Indonesia, and pages pick the locale."""
from pathlib import Path

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
