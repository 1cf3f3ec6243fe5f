"""The unsubscribe link knows its state (issue 20): Post/Redirect/Get for the page's forms,
reopening the link shows where the person stands, the language switch keeps it; one-click stays 200."""
from datetime import timedelta

import pytest

from portal.consent.models import EventType
from portal.db import utcnow
from portal.subscriptions.models import SubscriptionStatus
from tests.pagetools import form_to, refusal

WORDS = {"en": {"left": "You have left", "everything": "You have left everything from", "undo": "Undo: keep me subscribed",
                "thanks": "Thank you", "undone": "Your unsubscribe is undone"},
         "id": {"left": "Anda telah keluar dari", "everything": "Anda telah berhenti menerima semua email dari",
                "undo": None, "thanks": "Terima kasih", "undone": None}}


def _leave(client, person, scope: str, lang: str):
    """GET the page, post its choice without following the redirect; the 303."""
    action, fields = form_to(client.get(f"{person.path}?lang={lang}").get_data(as_text=True), "/unsubscribe/")
    return client.post(action, data={**fields, "scope": scope}, follow_redirects=False)


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["en", "id"])
def test_the_choice_answers_303_to_the_page_of_the_result_in_its_language(cookieless, subscriber, lang):
    person = subscriber()
    done = _leave(cookieless, person, "list", lang)
    assert done.status_code == 303 and done.headers["Location"].endswith(f"{person.path}?lang={lang}")
    assert person.status == SubscriptionStatus.UNSUBSCRIBED
    result = _text(cookieless.get(done.headers["Location"]))
    name = person.subscription.list.name

    def shown(page_lang):  # the list's name is in the account's language (English): marked on other pages
        return name if page_lang == "en" else f'<span lang="en">{name}</span>'

    assert f"{WORDS[lang]['left']} {shown(lang)}" in result
    email = person.contact.email
    assert email not in result and f"{email[0]}***@{email.split('@')[1]}" in result  # masked only
    # Reload and Back are GETs: no second ledger event.
    cookieless.get(done.headers["Location"])
    cookieless.get(done.headers["Location"])
    assert len(person.events(EventType.UNSUBSCRIBED)) == 1
    # The language switch keeps the page, and so the state.
    assert 'href="?lang=' in result
    other = "id" if lang == "en" else "en"
    switched = _text(cookieless.get(f"{person.path}?lang={other}"))
    assert f"{WORDS[other]['left']} {shown(other)}" in switched


@pytest.mark.parametrize("lang", ["en", "id"])
def test_leaving_everything_shows_everything_from_the_sender(cookieless, subscriber, lang):
    person = subscriber()
    second = subscriber(contact=person.contact)
    done = _leave(cookieless, person, "account", lang)
    assert done.status_code == 303
    result = _text(cookieless.get(done.headers["Location"]))
    assert f"{WORDS[lang]['everything']} {person.subscription.list.account.name}" in result
    assert second.status == SubscriptionStatus.UNSUBSCRIBED
    # Nothing more to leave: no second choice on the page.
    assert 'name="scope"' not in result


def test_the_page_of_one_list_left_offers_to_leave_everything(cookieless, subscriber):
    person = subscriber()
    second = subscriber(contact=person.contact)
    page = _text(cookieless.get(_leave(cookieless, person, "list", "en").headers["Location"]))
    assert "Also leave everything from" in page and second.status == SubscriptionStatus.CONFIRMED
    html = page[page.index("Also leave everything") - 700:]
    action, fields = form_to(html, "/unsubscribe/")
    assert fields["scope"] == "account"
    assert cookieless.post(action, data=fields, follow_redirects=False).status_code == 303
    assert second.status == SubscriptionStatus.UNSUBSCRIBED


def test_reopening_the_link_later_shows_the_state_and_the_undo_while_its_window_lasts(second_app, cookieless,
                                                                                      subscriber):
    person = subscriber()
    _leave(cookieless, person, "list", "en")
    later = _text(cookieless.get(person.path))
    assert "You have left" in later and "Undo: keep me subscribed" in later
    assert "email preferences" in later and "confirmation link" in later  # the way back by double opt-in
    late_app = second_app(WTF_CSRF_ENABLED=True, PORTAL_UNDO_MAX_AGE=timedelta(seconds=-1))
    after_window = _text(late_app.test_client(use_cookies=False).get(person.path))
    assert "You have left" in after_window and "/undo" not in after_window
    assert "Stop receiving" not in after_window  # the state, not the bare form


def test_an_undo_offered_on_reopening_lasts_only_the_events_window(cookieless, subscriber, monkeypatch):
    """A token minted when the page is reopened late does not stretch the window of the event."""
    from portal.preferences import undo

    person = subscriber()
    _leave(cookieless, person, "list", "en")
    action, fields = form_to(_text(cookieless.get(person.path)), "/undo")  # a fresh token
    monkeypatch.setattr(undo, "utcnow", lambda: utcnow() + timedelta(minutes=16))  # the event is older
    late = cookieless.post(action, data=fields, follow_redirects=False)
    assert late.status_code == 410 and "that time is over" in _text(late)
    assert person.status == SubscriptionStatus.UNSUBSCRIBED and person.events(EventType.RESUBSCRIBED) == []


def test_one_click_stays_200_with_no_location_and_the_link_then_shows_the_state(client, subscriber):
    person = subscriber()
    response = client.post(person.path, data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and "Location" not in response.headers
    page = _text(client.get(person.path))
    assert "You have left" in page and "/undo" not in page  # one-click's own event offers no undo


@pytest.mark.parametrize("lang", ["en", "id"])
def test_reason_and_undo_answer_303_to_get_pages(cookieless, subscriber, lang):
    person = subscriber()
    page = _text(cookieless.get(_leave(cookieless, person, "list", lang).headers["Location"]))
    reason_action, reason_fields = form_to(page, "/reason")
    reason = cookieless.post(reason_action, data={**reason_fields, "reason": "other"}, follow_redirects=False)
    assert reason.status_code == 303 and reason.headers["Location"].endswith(f"/thanks?lang={lang}")
    thanks = _text(cookieless.get(reason.headers["Location"]))
    assert WORDS[lang]["thanks"] in thanks and 'href="?lang=' in thanks
    cookieless.get(reason.headers["Location"])
    assert len(person.events("unsubscribe_reason")) == 1
    undo_action, undo_fields = form_to(page, "/undo")
    undo = cookieless.post(undo_action, data=undo_fields, follow_redirects=False)
    assert undo.status_code == 303 and undo.headers["Location"].endswith(f"/undone?lang={lang}")
    assert person.status == SubscriptionStatus.CONFIRMED
    undone = cookieless.get(undo.headers["Location"])
    assert undone.status_code == 200 and 'href="?lang=' in _text(undone)
    cookieless.get(undo.headers["Location"])
    assert len(person.events(EventType.RESUBSCRIBED)) == 1
    # Reopened, the link offers the choice again.
    assert "Stop receiving" in _text(cookieless.get(person.path)) or lang == "id"


def test_the_undone_page_says_so_only_after_an_undo(cookieless, subscriber):
    person = subscriber()
    before = len(person.events())
    answer = cookieless.get(person.path + "/undone", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"].endswith(person.path)
    assert len(person.events()) == before


def test_an_erased_persons_link_stays_the_invalid_link_page(client, subscriber, db):
    from portal.privacy import operations as privacy

    person = subscriber()
    client.post(person.path, data={"scope": "list"})
    privacy.erase_contact(db.session.get(type(person.contact), person.contact.id), source="erase_link")
    db.session.commit()
    for path in (person.path, person.path + "/thanks", person.path + "/undone"):
        page = client.get(path, headers={"Accept": "text/html"})
        assert refusal(page) == (404, "invalid_link") and "This link is not valid" in _text(page)
