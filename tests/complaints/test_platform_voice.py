"""Issue 20: the complaint page speaks as the platform, names the reported sender and says what
happens; it names the address it is about, masked."""
from __future__ import annotations

import pytest

from portal import links


@pytest.fixture
def complaint_path(create_subscription):
    subscription = create_subscription()
    token = links.target_token("complaint", links.Target(subscription.contact_id, subscription.list_id))
    return f"/complaint/{token}", subscription.contact.account.name, subscription.contact.email


@pytest.mark.app_config(PORTAL_PLATFORM_NAME="Kirim Mail")
def test_the_form_speaks_as_the_platform_about_the_reported_sender(client, complaint_path):
    path, sender, email = complaint_path
    page = client.get(path).get_data(as_text=True)
    assert '<p class="sender">Kirim Mail</p>' in page
    assert f"Kirim Mail sends email on behalf of {sender}. You are reporting {sender}, the sender of the message" in page
    assert f"What happens next: {sender} will not be able to email this address again" in page
    assert f"{email[0]}***@example.org" in page and email not in page


@pytest.mark.app_config(PORTAL_PLATFORM_NAME="Kirim Mail")
def test_the_answer_says_what_the_platform_did(client, complaint_path):
    path, sender, _email = complaint_path
    answer = client.post(path + "?lang=id", data={"category": "not_requested"})
    assert answer.status_code == 303 and answer.location == path + "?lang=id"  # Post/Redirect/Get
    page = client.get(answer.location).get_data(as_text=True)
    assert '<p class="sender">Kirim Mail</p>' in page
    assert f"Kirim Mail telah menghentikan email dari {sender} ke alamat Anda" in page
