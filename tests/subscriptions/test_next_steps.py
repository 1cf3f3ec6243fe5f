"""Issue 20: the check-inbox page repeats the address (masked, and sealed in its URL), says how long
the link lasts and leads back; the confirm page names its address masked; the subscribed page
leads to the preferences and back to the customer's site."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from portal import links
from tests.conftest import outbox
from tests.subscriptions.helpers import confirm_path, signup


def _check_inbox(client, response) -> str:
    assert response.status_code == 303
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_check_inbox_repeats_the_masked_address_and_how_long_the_link_lasts(client, create_form):
    form = create_form()
    response = signup(client, form, "ann.smith+news@example.org")
    location = response.headers["Location"]
    assert "ann" not in location and "example" not in location  # sealed: not even the mask is readable
    page = _check_inbox(client, response)
    assert "a***@example.org" in page and "ann.smith" not in page
    assert "The link works for 7 days. If you do nothing, you will not be subscribed." in page
    assert f'href="/f/{form.id}">Wrong address? Start again' in page
    assert "Back to" not in page  # the form names no site of the customer


def test_check_inbox_in_indonesian(client, create_form):
    form = create_form()
    page = _check_inbox(client, client.post(f"/f/{form.id}?lang=id", data={"email": "ann@example.org"}))
    assert "Untuk alamat a***@example.org" in page and "7 hari" in page
    assert f'href="/f/{form.id}?lang=id">Alamat salah? Mulai lagi' in page


@pytest.mark.parametrize("to", ["garbage", "AAAA", "%FF", "sealed-for-another-use"])
def test_a_to_not_sealed_for_this_page_shows_no_address(client, create_form, to):
    form = create_form()
    if to == "sealed-for-another-use":
        to = links.seal("a***@example.org", b"ref")  # a message reference's seal does not open here
    page = client.get(f"/f/{form.id}/thanks?to={to}").get_data(as_text=True)
    assert "***@" not in page and "Check your inbox" in page
    sealed = links.seal("a***@example.org", b"check-inbox")
    assert "a***@example.org" in client.get(f"/f/{form.id}/thanks?to={sealed}").get_data(as_text=True)


def test_back_to_the_site_the_signup_came_from_only_when_it_is_the_forms(client, create_form):
    form = create_form(allowed_origins=["https://shop.example", "https://blog.shop.example"])
    response = signup(client, form, page_url="https://blog.shop.example/posts/1")
    assert parse_qs(urlsplit(response.headers["Location"]).query)["site"] == ["https://blog.shop.example"]
    page = _check_inbox(client, response)
    assert '<a href="https://blog.shop.example" target="_top">Back to blog.shop.example</a>' in page
    # The language switch keeps the page's checked state (its site and sealed address).
    switch = re.search(r'href="(\?[^"]*lang=id)"', page).group(1)
    assert "site=https%3A%2F%2Fblog.shop.example" in switch and "to=" in switch
    # A site the form does not allow is never linked: the form's own origin is.
    forged = client.get(f"/f/{form.id}/thanks?site=https://evil.example").get_data(as_text=True)
    assert "evil.example" not in forged and 'href="https://shop.example"' in forged
    untrusted = signup(client, form, "bo@example.org", page_url="https://evil.example/x")
    assert "site" not in parse_qs(urlsplit(untrusted.headers["Location"]).query)


def test_the_confirm_page_names_its_address_masked(client, create_form):
    form = create_form()
    signup(client, form, "ann@example.org")
    page = client.get(confirm_path(outbox()[-1])).get_data(as_text=True)
    assert "For the address a***@example.org" in page and "ann@example.org" not in page


def test_the_subscribed_page_leads_to_the_preferences_and_back_to_the_site(client, create_form):
    form = create_form(allowed_origins=["https://shop.example"])
    signup(client, form, "ann@example.org", headers={"Referer": "https://shop.example/news"})
    path = confirm_path(outbox()[-1])
    page = client.post(path, data={"confirm": "1"}, follow_redirects=True).get_data(as_text=True)
    assert "Thank you, you are subscribed" in page and "For the address a***@example.org" in page
    preferences = re.search(r'href="(/preferences/[^"]+|https://portal\.test/preferences/[^"]+)">Manage your subscriptions',
                            page).group(1)
    opened = client.get(preferences.replace("https://portal.test", ""))
    assert opened.status_code == 200 and "Your email preferences" in opened.get_data(as_text=True)
    assert '<a href="https://shop.example">Back to shop.example</a>' in page
    # Reopened (or the confirmation replayed), the link shows the same subscribed page.
    replay = client.post(path, data={"confirm": "1"}, follow_redirects=True).get_data(as_text=True)
    assert "Thank you, you are subscribed" in replay and "/preferences/" in replay and "a***@example.org" in replay
