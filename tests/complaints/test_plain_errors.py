"""Errors people understand on the complaint form (issue 20): plain, translated, on their own
field, a summary linking to it, "Error:" in the title, nothing recorded."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal import links
from portal.complaints.models import Complaint
from portal.extensions import db

CHOOSE = {"en": "Select what is wrong with this message", "id": "Pilih apa yang salah dengan pesan ini"}
TOO_LONG = {"en": "What you add must be 2000 characters or fewer", "id": "Tambahan Anda paling banyak 2000 karakter"}
ERROR = {"en": "Error:", "id": "Kesalahan:"}


@pytest.fixture
def token(create_list, create_contact, create_subscription):
    mailing_list = create_list()
    contact = create_contact(mailing_list.account)
    create_subscription(contact, mailing_list)
    return links.target_token("complaint", links.Target(contact.id, mailing_list.id, "<msg-1@platform>"))


def _summary_links(page: str) -> list[tuple[str, str]]:
    summary = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', page, re.S).group(1)
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary)


@pytest.mark.parametrize("locale", ["en", "id"])
@pytest.mark.parametrize("data", [{}, {"category": "spam"}], ids=["none", "unknown"])
def test_no_category_asks_plainly_to_select_one(client, token, locale, data):
    response = client.post(f"/complaint/{token}?lang={locale}", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and f"<title>{ERROR[locale]} " in page
    assert _summary_links(page) == [("category-0", CHOOSE[locale])]
    assert '<fieldset aria-describedby="category-error">' in page
    assert (f'<p class="error-message" id="category-error"><span class="visually-hidden">{ERROR[locale]}</span> '
            f"{CHOOSE[locale]}</p>") in page
    assert 'id="category-0"' in page and "Not a valid choice" not in page
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0


@pytest.mark.parametrize("locale", ["en", "id"])
def test_too_long_a_text_is_marked_on_the_text(client, token, locale):
    response = client.post(f"/complaint/{token}?lang={locale}", data={"category": "other", "text": "x" * 2001})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and f"<title>{ERROR[locale]} " in page
    assert _summary_links(page) == [("text", TOO_LONG[locale])]
    textarea = re.search(r'<textarea[^>]*id="text"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in textarea and 'aria-describedby="text-error"' in textarea
    assert "category-error" not in page and "Field cannot be longer" not in page
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == 0
