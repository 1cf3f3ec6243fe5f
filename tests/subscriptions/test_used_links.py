"""A confirmation link already used (issues 14 and 20): it never subscribes again nor changes
anything; its POST answers 303 to its GET page, which shows where the link's holder stands now:
subscribed (with the next steps), declined (with a way to sign up again, whatever came after) or
"already used" (left since, or erased: one page for both, so erasure is never told)."""
import re

import pytest
from sqlalchemy import func, select

from portal.consent.models import ConsentEvent
from portal.extensions import db
from portal.privacy import operations as privacy
from portal.subscriptions.models import Subscription, SubscriptionStatus
from portal.subscriptions.operations import find_contact
from tests.conftest import outbox
from tests.pagetools import form_to
from tests.subscriptions.helpers import confirm_path

EMAIL = "ann@example.org"
ONE_CLICK = "List-Unsubscribe=One-Click"
TEXT = {
    "en": {"subscribed": "Thank you, you are subscribed", "used": "This link has already been used",
           "declined": "You will not be subscribed", "again": "Sign up again", "manage": "Send me a link"},
    "id": {"subscribed": "Terima kasih, Anda sudah berlangganan", "used": "Tautan ini sudah pernah dipakai",
           "declined": "Anda tidak akan didaftarkan", "again": "Daftar lagi", "manage": "Kirimi saya tautan"},
}


def _state() -> tuple:
    """Every consent event and subscription state: a replay must leave both as they were."""
    db.session.expire_all()
    return (db.session.scalar(select(func.count(ConsentEvent.id))),
            sorted(db.session.execute(select(Subscription.id, Subscription.status)).all()))


def _page(client, path: str, fields: dict, lang: str) -> str:
    """The link's GET page, after checking that a confirm and a "No thanks" of it answer 303 to
    that same page (in ``lang``) and change nothing."""
    before = _state()
    url = f"{path}?lang={lang}"
    for extra in ({}, {"decline": "1"}):
        response = client.post(url, data={**fields, **extra}, follow_redirects=False)
        assert (response.status_code, response.headers["Location"]) == (303, url)
    assert _state() == before
    page = client.get(url)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    return _stable(page.get_data(as_text=True))


def _stable(html: str) -> str:
    """The page without what changes on every request (CSP nonces, anti-forgery tokens)."""
    return re.sub(r'(nonce|value)="[^"]*"', "", html)


def _press(client, path: str, button: str = "confirm") -> dict:
    """Open a confirmation link and press a button; the form's fields (kept to replay them)."""
    fields = form_to(client.get(path).get_data(as_text=True), "/confirm/")[1]
    extra = {"decline": "1"} if button == "decline" else {}
    response = client.post(path, data={**fields, **extra}, follow_redirects=False)
    assert (response.status_code, response.headers["Location"]) == (303, path)
    return fields


def _unsubscribe(client, contact, list_id) -> None:
    from portal import links

    path = links.unsubscribe_url(links.Target(contact.id, list_id, None)).replace("https://portal.test", "")
    client.post(path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")


@pytest.fixture
def used_link(cookieless, create_form):
    """A person who confirmed through a form's mail: the link, its form fields, the form."""
    form = create_form(account=None)
    cookieless.post(f"/f/{form.id}", data={"email": EMAIL})
    path = confirm_path(outbox()[-1])
    return path, _press(cookieless, path), form


@pytest.mark.parametrize("lang", ["en", "id"])
def test_a_used_link_shows_the_holder_where_they_stand_and_never_tells_erasure(cookieless, used_link, lang):
    path, fields, form = used_link
    subscribed = _page(cookieless, path, fields, lang)
    assert TEXT[lang]["subscribed"] in subscribed and form.lists[0].name in subscribed
    assert "a***@example.org" in subscribed and "/preferences/" in subscribed and "/receipt" in subscribed
    assert TEXT[lang]["used"] not in subscribed
    contact = find_contact(form.account_id, EMAIL)
    _unsubscribe(cookieless, contact, form.lists[0].id)
    left = _page(cookieless, path, fields, lang)
    assert TEXT[lang]["used"] in left and TEXT[lang]["manage"] in left and form.lists[0].name in left
    assert "***@" not in left and "/preferences/" not in left.replace("/preferences/manage", "")
    assert TEXT[lang]["subscribed"] not in left
    assert db.session.get(Subscription, contact.subscriptions[0].id).status == SubscriptionStatus.UNSUBSCRIBED
    privacy.erase_contact(find_contact(form.account_id, EMAIL), source="erase_link")
    db.session.commit()
    assert _page(cookieless, path, fields, lang) == left  # erased: the very page of one who left


def test_a_replayed_resubscription_confirmation_never_resubscribes(cookieless, create_subscription, create_list):
    """A re-subscription asked from the preference centre, confirmed, then left again: its link,
    replayed, changes nothing, and says it was used."""
    from portal import links

    mailing_list = create_list()
    subscription = create_subscription(mailing_list=mailing_list)
    contact_id, list_id = subscription.contact_id, mailing_list.id
    target = links.Target(contact_id, list_id, None)
    unsubscribe = links.unsubscribe_url(target).replace("https://portal.test", "")
    cookieless.post(unsubscribe, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    preferences = links.preferences_url(target).replace("https://portal.test", "")
    action, fields = form_to(cookieless.get(preferences).get_data(as_text=True), "/preferences/")
    cookieless.post(action, data={**fields, "lists": [list_id], "save": "1"})
    path = confirm_path(outbox()[-1])
    confirm_fields = _press(cookieless, path)
    assert TEXT["en"]["subscribed"] in _page(cookieless, path, confirm_fields, "en")
    cookieless.post(unsubscribe, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert TEXT["en"]["used"] in _page(cookieless, path, confirm_fields, "en")
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).status == SubscriptionStatus.UNSUBSCRIBED


@pytest.mark.parametrize("lang", ["en", "id"])
def test_a_declined_link_answers_its_own_no_whatever_came_after(cookieless, create_form, lang):
    form = create_form()
    cookieless.post(f"/f/{form.id}", data={"email": EMAIL})
    declined_path = confirm_path(outbox()[-1])
    fields = _press(cookieless, declined_path, "decline")
    first = _page(cookieless, declined_path, fields, lang)  # its "Yes" (an old tab) included
    assert TEXT[lang]["declined"] in first and "not valid" not in first and "tidak valid" not in first
    assert f'href="/f/{form.id}?lang={lang}">{TEXT[lang]["again"]}</a>' in first and "***@" not in first
    # The person signs up again later and confirms: the old "No thanks" link still says only that.
    cookieless.post(f"/f/{form.id}", data={"email": EMAIL})
    _press(cookieless, confirm_path(outbox()[-1]))
    assert _page(cookieless, declined_path, fields, lang) == first
    privacy.erase_contact(find_contact(form.account_id, EMAIL), source="erase_link")
    db.session.commit()
    assert _page(cookieless, declined_path, fields, lang) == first


@pytest.mark.parametrize("lang", ["en", "id"])
def test_the_language_switch_of_a_result_page_keeps_its_state(cookieless, used_link, lang):
    path, fields, _form = used_link
    other = "id" if lang == "en" else "en"
    page = cookieless.get(f"{path}?lang={lang}").get_data(as_text=True)
    base = re.search(rf'href="([^"]*)\?lang={other}" lang="{other}"', page).group(1)
    assert base in ("", path)  # the same URL: the state page, not the question again
    switched = cookieless.get(f"{path}?lang={other}").get_data(as_text=True)
    assert TEXT[other]["subscribed"] in switched and 'name="confirm"' not in switched
