"""Errors people understand (issue 20): each refusal of a subscriber form says, in the page's
language and in plain words, what to do; the message sits on its own field, a summary at the top
links to it, the title starts with "Error:", and nothing is stored."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.consent.models import ConsentEvent
from portal.extensions import db
from portal.subscriptions.models import Contact, SignupRequest
from tests.conftest import outbox
from tests.subscriptions.helpers import signup

FORMAT = {"en": "Enter an email address in the correct format, like name@example.com",
          "id": "Masukkan alamat email dengan format yang benar, misalnya nama@contoh.com"}
EMPTY = {"en": "Enter your email address", "id": "Masukkan alamat email Anda"}
TOO_LONG = {"en": "Email address must be 254 characters or fewer", "id": "Alamat email paling banyak 254 karakter"}
DOMAIN = {"en": "Enter an email address with a domain that can receive email, like name@example.com",
          "id": "Masukkan alamat email dengan domain yang dapat menerima email, misalnya nama@contoh.com"}
NAME_TOO_LONG = {"en": "Name must be 200 characters or fewer", "id": "Nama paling banyak 200 karakter"}
WORDS = {"en": {"error": "Error:", "problem": "There is a problem"},
         "id": {"error": "Kesalahan:", "problem": "Ada masalah"}}

#: (email, name, the field in error, its messages by language)
CASES = [
    ("", "", "email", EMPTY),
    ("   ", "", "email", EMPTY),
    ("ann@@example.org", "", "email", FORMAT),
    ("ann example.org", "", "email", FORMAT),
    ("ann@example", "", "email", FORMAT),
    ("a@" + "b" * 250 + ".org", "", "email", TOO_LONG),
    ("ann@localhost", "", "email", DOMAIN),
    ("ann@example.org", "N" * 201, "name", NAME_TOO_LONG),
]
IDS = ["empty", "blank", "two-ats", "no-at", "no-dot", "too-long", "reserved-domain", "long-name"]


def _input(page: str, field_id: str) -> str:
    """The ``<input>`` tag of ``field_id``."""
    return re.search(rf'<input[^>]*\bid="{field_id}"[^>]*>', page).group(0)


def assert_marked(page: str, field: str, message: str, locale: str, others=()) -> None:
    """``field`` carries ``message`` the GOV.UK way; ``others`` are not marked."""
    words = WORDS[locale]
    assert re.search(rf"<title>{words['error']} ", page)
    summary = re.search(r'<div class="error-summary" role="alert" aria-labelledby="error-summary-title">(.*?)</div>',
                        page, re.S).group(1)
    assert f'<h2 id="error-summary-title">{words["problem"]}</h2>' in summary
    assert re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary) == [(field, message)]
    assert (f'<p class="error-message" id="{field}-error"><span class="visually-hidden">{words["error"]}</span> '
            f"{message}</p>") in page
    tag = _input(page, field)
    assert 'aria-invalid="true"' in tag and f'aria-describedby="{field}-error"' in tag
    assert page.index(f'id="{field}-error"') < page.index(tag)  # the message is above the input
    for other in others:
        assert "aria-invalid" not in _input(page, other) and f'id="{other}-error"' not in page
    assert "@-sign" not in page and "Field cannot be longer" not in page


def nothing_stored() -> bool:
    count = db.session.scalar(select(func.count()).select_from(Contact))
    return count == 0 and db.session.scalar(select(func.count()).select_from(SignupRequest)) == 0 and outbox() == []


@pytest.mark.parametrize("locale", ["en", "id"])
@pytest.mark.parametrize(("email", "name", "field", "messages"), CASES, ids=IDS)
def test_each_refusal_is_plain_translated_and_on_its_own_field(client, create_form, locale, email, name, field,
                                                               messages):
    form = create_form()
    response = client.post(f"/f/{form.id}?lang={locale}", data={"email": email, "name": name})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert_marked(page, field, messages[locale], locale, others={"email", "name"} - {field})
    assert nothing_stored()


def test_the_page_without_errors_has_no_summary_and_no_marks(client, create_form):
    form = create_form()
    page = client.get(f"/f/{form.id}").get_data(as_text=True)
    assert "error-summary" not in page and "aria-invalid" not in page and "<title>Error:" not in page


def test_the_typed_values_are_kept(client, create_form):
    form = create_form()
    page = signup(client, form, "ann@@example.org", name="Ann").get_data(as_text=True)
    assert 'value="ann@@example.org"' in _input(page, "email") and 'value="Ann"' in _input(page, "name")


@pytest.mark.parametrize("locale", ["en", "id"])
def test_json_keeps_its_shape_with_a_plain_translated_message(client, create_form, locale):
    form = create_form()
    response = client.post(f"/f/{form.id}?lang={locale}", json={"email": "ann@@example.org"})
    assert response.status_code == 422
    assert response.json == {"error": {"code": "invalid_email", "message": FORMAT[locale],
                                       "details": [{"loc": ["email"], "msg": FORMAT[locale]}]}}
    assert nothing_stored()


def test_json_name_error_is_named_as_the_name(client, create_form):
    form = create_form()
    response = client.post(f"/f/{form.id}", json={"email": "ann@example.org", "name": "N" * 201})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_failed"
    assert response.json["error"]["details"] == [{"loc": ["name"], "msg": NAME_TOO_LONG["en"]}]
    assert nothing_stored()


def test_a_page_url_too_long_is_dropped_not_shown_as_an_address_error(client, create_form):
    form = create_form(allowed_origins=["https://shop.example"])
    response = signup(client, form, page_url="https://shop.example/" + "a" * 2000)
    assert response.status_code == 303
    event = db.session.scalar(select(ConsentEvent))
    assert event is not None and event.page_url is None and len(outbox()) == 1
