"""One resolver from a link token to its holder: the same rules, and the same refusal, for every purpose."""
from __future__ import annotations

import pytest

from portal import links
from portal.errors import TokenInvalid
from portal.extensions import db
from portal.privacy.operations import erase_contact
from portal.subscriptions import holders
from tests.pagetools import refusal

#: Every purpose whose token names a holder; all but ``erase`` may name a list.
PURPOSES = ["unsubscribe", "preferences", "complaint", "receipt", "mailto", "erase"]
WITH_LIST = [purpose for purpose in PURPOSES if purpose != "erase"]

#: Every page a holder's token opens: (purpose, path).
PAGES = [("unsubscribe", "/unsubscribe/{}"), ("preferences", "/preferences/{}"),
         ("preferences", "/preferences/{}/data"), ("preferences", "/preferences/{}/erase"),
         ("preferences", "/preferences/{}/receipt"), ("complaint", "/complaint/{}"),
         ("receipt", "/receipts/{}"), ("receipt", "/receipts/{}.json"), ("erase", "/erase/{}")]


def token(purpose: str, contact_id: int, list_id: str | None = None) -> str:
    """A good token of ``purpose`` naming the contact (and the list, where the purpose carries one)."""
    target = links.Target(contact_id, list_id)
    if purpose == "mailto":
        return links.mail_token(target)
    if purpose == "erase":
        return links.erase_url(contact_id).rsplit("/", 1)[1]
    return links.target_token(purpose, target)


@pytest.fixture
def person(create_subscription):
    return create_subscription().contact


def _refusal(purpose: str, value: str) -> TokenInvalid:
    with pytest.raises(TokenInvalid) as refused:
        holders.resolve(purpose, value)
    return refused.value


@pytest.mark.parametrize("purpose", PURPOSES)
def test_a_good_token_names_its_holder(purpose, person):
    holder = holders.resolve(purpose, token(purpose, person.id, person.subscriptions[0].list_id))
    assert (holder.contact.id, holder.account.id) == (person.id, person.account_id)
    assert holder.mailing_list is None if purpose == "erase" else holder.mailing_list.id == person.subscriptions[0].list_id


@pytest.mark.parametrize("purpose", WITH_LIST)
def test_a_list_of_another_account_is_refused_as_an_erased_contact_is(purpose, person, create_list, create_contact):
    foreign = _refusal(purpose, token(purpose, person.id, create_list().id))
    other = create_contact()
    erase_contact(other)
    db.session.commit()
    erased = _refusal(purpose, token(purpose, other.id))
    assert type(foreign) is type(erased) is TokenInvalid
    assert foreign.code == erased.code == "invalid_link"
    # A forgery names no one; an erased person's link names their sender, for a way forward.
    assert (foreign.account, erased.account.id) == (None, other.account_id)


@pytest.mark.parametrize("purpose", PURPOSES)
def test_tampered_foreign_purpose_and_unknown_contact_are_refused_without_a_sender(purpose, person):
    good = token(purpose, person.id)
    other_purpose = "preferences" if purpose in ("complaint", "mailto", "erase") else "complaint"
    for value in (good[:-3] + ("aaa" if good[-3:] != "aaa" else "bbb"), token(other_purpose, person.id),
                  token(purpose, 10**12)):
        refused = _refusal(purpose, value)
        assert type(refused) is TokenInvalid and refused.code == "invalid_link" and refused.account is None, value


def _refused(client, url: str) -> tuple[int, bytes]:
    """The invalid-link answer to ``url`` (404 ``invalid_link`` in JSON), and its page."""
    answer = client.get(url, headers={"Accept": "application/json"})
    assert answer.status_code == 404, (url, answer.status_code)
    assert answer.get_json()["error"]["code"] == "invalid_link", url
    page = client.get(url)
    assert refusal(page) == (404, "invalid_link") and b'name="sender"' in page.data, url  # a way forward
    return page.status_code, page.data


@pytest.mark.parametrize("purpose, path", PAGES)
def test_every_page_gives_the_same_refusal_for_an_erased_contact_and_a_list_of_another_account(
        purpose, path, client, person, create_list):
    """The same code; a list of another account gets the tampered link's very page, an erased
    person's link the same page naming their sender."""
    good = token(purpose, person.id)
    tampered = _refused(client, path.format(good[:-3] + ("aaa" if good[-3:] != "aaa" else "bbb")))
    if purpose != "erase":
        assert _refused(client, path.format(token(purpose, person.id, create_list().id))) == tampered
    sender = person.account.name
    assert sender.encode() not in tampered[1]
    erase_contact(person)
    db.session.commit()
    assert sender.encode() in _refused(client, path.format(good))[1]
