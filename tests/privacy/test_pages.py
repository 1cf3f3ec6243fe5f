"""Issue 20: the data and erase pages name their address masked, link back to the preferences,
and erasure looks like what it is (a warning button, a cancel link, the download linked)."""
from __future__ import annotations

import re

from portal.links import erase_url


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_erase_page_warns_offers_cancel_and_the_download(client, create_subscription):
    subscription = create_subscription()
    contact = subscription.contact
    from portal.links import Target, preferences_url

    preferences = preferences_url(Target(contact.id)).replace("https://portal.test", "")
    page = _page(client, preferences + "/erase")
    assert f"For the address {contact.email[0]}***@example.org" in page and contact.email not in page
    assert re.search(r'<button type="submit" class="warning">Email me the confirmation link</button>', page)
    assert f'<a href="{preferences}">Cancel: back to your email preferences</a>' in page
    assert f'<a href="{preferences}/data">Download my data</a>' in page


def test_the_data_page_links_back_to_the_preferences(client, create_subscription):
    contact = create_subscription().contact
    from portal.links import Target, preferences_url

    preferences = preferences_url(Target(contact.id)).replace("https://portal.test", "")
    page = _page(client, preferences + "/data?lang=id")
    assert f"Untuk alamat {contact.email[0]}***@example.org" in page
    assert f'<a href="{preferences}?lang=id">Kembali ke preferensi email Anda</a>' in page


def test_the_erase_confirmation_page_warns_and_cancels_to_the_preferences(client, create_subscription):
    contact = create_subscription().contact
    page = _page(client, erase_url(contact.id).replace("https://portal.test", ""))
    assert '<button type="submit" class="warning">Erase my data</button>' in page
    assert f"For the address {contact.email[0]}***@example.org" in page and contact.email not in page
    cancel = re.search(r'<a href="([^"]+)">Cancel: back to your email preferences</a>', page).group(1)
    assert client.get(cancel.replace("https://portal.test", "")).status_code == 200
