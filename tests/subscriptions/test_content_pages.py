"""Customer content in the page's language (issue 20): the hosted signup page, the signup it
records, the confirmation mail, the preference centre and the embed snippet; text in another
language than the page's is marked with ``lang``."""
import hashlib
import re

import pytest
from flask_babel import refresh
from sqlalchemy import select

from portal import links
from portal.consent.models import ConsentEvent, EventType
from portal.extensions import db
from portal.subscriptions.models import SignupRequest
from tests.conftest import outbox

EN = "Yes, send me the weekly coffee news."
ID = "Ya, kirimi saya kabar kopi mingguan."


@pytest.fixture
def form(create_account, create_list, create_form):
    """An English account's form for a list named in both languages and one named only in English."""
    account = create_account(name="Kopi Nusantara", locale="en")
    both = create_list(account, name="Weekly news", description="Every Monday",
                       translations={"id": {"name": "Kabar mingguan", "description": "Setiap Senin"}})
    english_only = create_list(account, name="Offers")
    return create_form(account, [both, english_only], consent_text=EN, heading="Join the coffee club",
                       translations={"id": {"consent_text": ID, "heading": "Gabung klub kopi"}})


def _page(client, form, lang):
    return _fresh(client.get, f"/f/{form.id}?lang={lang}").get_data(as_text=True)


def _fresh(method, *args, **kwargs):
    """A request in a language of its own: the test's app context would keep the last one's."""
    refresh()
    return method(*args, **kwargs)


def test_the_indonesian_page_shows_the_indonesian_texts_unmarked(client, form):
    page = _page(client, form, "id")
    assert f"<p>{ID}</p>" in page and EN not in page
    assert "<h1>Gabung klub kopi</h1>" in page
    assert "<strong>Kabar mingguan</strong>: Setiap Senin" in page and "Weekly news" not in page


def test_the_english_page_shows_the_english_texts_unmarked(client, form):
    page = _page(client, form, "en")
    assert f"<p>{EN}</p>" in page and ID not in page
    assert "<h1>Join the coffee club</h1>" in page
    assert "<strong>Weekly news</strong>: Every Monday" in page
    assert 'lang="id"' not in page.split("<main", 1)[-1].split("</main>")[0]


def test_an_untranslated_field_on_the_indonesian_page_is_marked_english(client, form):
    assert '<strong><span lang="en">Offers</span></strong>' in _page(client, form, "id")


def test_an_untranslated_consent_text_falls_back_to_the_accounts_language_marked(client, create_form):
    form = create_form(consent_text=EN)
    assert f'<p><span lang="en">{EN}</span></p>' in _page(client, form, "id")


def test_without_a_heading_the_page_says_subscribe_to_the_account(client, create_form, create_account):
    form = create_form(create_account(name="Toko Buku"))
    assert "<h1>Berlangganan ke Toko Buku</h1>" in _page(client, form, "id")


def test_a_signup_on_the_indonesian_page_records_the_indonesian_words(client, form):
    assert client.post(f"/f/{form.id}?lang=id", data={"email": "siti@example.org"}).status_code == 303
    indonesian = form.consent_text_for("id")
    assert indonesian.locale == "id" and indonesian.text == ID
    request = db.session.scalars(select(SignupRequest)).one()
    assert request.consent_text_id == indonesian.id
    events = db.session.scalars(select(ConsentEvent).where(ConsentEvent.type == EventType.SIGNUP_REQUESTED)).all()
    assert events and all(event.consent_text_id == indonesian.id for event in events)
    assert all(event.evidence["consent_text_sha256"] == hashlib.sha256(ID.encode()).hexdigest() for event in events)


def test_a_signup_on_the_english_page_records_the_english_words(client, form):
    client.post(f"/f/{form.id}?lang=en", data={"email": "ann@example.org"})
    assert db.session.scalars(select(SignupRequest)).one().consent_text_id == form.consent_text_for("en").id


def test_the_same_person_asking_again_in_the_other_language_gets_a_request_with_those_words(client, form):
    _fresh(client.post, f"/f/{form.id}?lang=en", data={"email": "ann@example.org"})
    _fresh(client.post, f"/f/{form.id}?lang=id", data={"email": "ann@example.org"})
    requests = db.session.scalars(select(SignupRequest).order_by(SignupRequest.id)).all()
    assert [r.consent_text_id for r in requests] == [form.consent_text_for("en").id, form.consent_text_for("id").id]


def test_the_indonesian_confirmation_mail_shows_the_indonesian_names_and_words(client, form):
    client.post(f"/f/{form.id}?lang=id", data={"email": "siti@example.org"})
    [mail] = outbox()
    assert mail.payload["locale"] == "id"
    text, html = mail.payload["text"], mail.payload["html"]
    assert "Yang Anda setujui:" in text and f'"{ID}"' in text and EN not in text
    assert "  - Kabar mingguan: Setiap Senin" in text and "  - Offers" in text
    assert f">{ID}</blockquote>" in html
    assert "<strong>Kabar mingguan</strong>: Setiap Senin" in html
    assert '<strong><span lang="en">Offers</span></strong>' in html


def test_the_subscribed_mail_names_the_lists_in_its_language(client, form):
    client.post(f"/f/{form.id}?lang=id", data={"email": "siti@example.org"})
    path = re.search(r"https://portal\.test(/confirm/\S+)", outbox()[0].payload["text"]).group(1)
    client.post(path, data={"confirm": "1"})
    subscribed = outbox()[-1]
    assert subscribed.kind == "subscribed" and subscribed.payload["locale"] == "id"
    assert "Kabar mingguan" in subscribed.payload["text"] and "Weekly news" not in subscribed.payload["text"]
    assert "Kabar mingguan" in subscribed.payload["html"]


def test_the_confirm_page_names_the_lists_in_its_language(client, form):
    client.post(f"/f/{form.id}?lang=id", data={"email": "siti@example.org"})
    path = re.search(r"https://portal\.test(/confirm/\S+)", outbox()[0].payload["text"]).group(1)
    page = client.get(path).get_data(as_text=True)  # the link carries ?lang=id
    assert "<strong>Kabar mingguan</strong>: Setiap Senin" in page


def test_the_preference_centre_shows_translated_list_names(client, form, create_contact, create_subscription):
    contact = create_contact(account=form.account)
    for mailing_list in form.lists:
        create_subscription(contact, mailing_list)
    url = links.preferences_url(links.Target(contact.id)).split("portal.test", 1)[-1]
    indonesian = _fresh(client.get, url, query_string={"lang": "id"}).get_data(as_text=True)
    assert "Kabar mingguan" in indonesian and "Setiap Senin" in indonesian and "Weekly news" not in indonesian
    assert '<span lang="en">Offers</span>' in indonesian
    english = _fresh(client.get, url, query_string={"lang": "en"}).get_data(as_text=True)
    assert "Weekly news" in english and "Kabar mingguan" not in english


def test_the_embed_snippet_is_in_the_accounts_language(form):
    from portal.subscriptions.operations import embed_html

    snippet = embed_html(form)
    assert f"<p>{EN}</p>" in snippet and ID not in snippet


def test_an_indonesian_account_marks_its_base_text_on_an_english_page(client, create_account, create_form):
    form = create_form(create_account(locale="id"), consent_text=ID)
    assert f'<span lang="id">{ID}</span>' in _page(client, form, "en")
    assert f"<p>{ID}</p>" in _page(client, form, "id")


def test_customer_text_is_escaped_inside_the_lang_mark(client, create_account, create_list, create_form):
    account = create_account(locale="en")
    form = create_form(account, [create_list(account, name="<b>Deals</b>")])
    page = _page(client, form, "id")
    assert '<span lang="en">&lt;b&gt;Deals&lt;/b&gt;</span>' in page and "<b>Deals</b>" not in page
