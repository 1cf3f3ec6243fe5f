"""The preference centre's list lines read as sentences: a description that ends its own sentence
gets no second full stop ("a few times a year.. To join" was the bug)."""
import re

from portal import links


def _centre(client, contact_id):
    return client.get(links.preferences_url(links.Target(contact_id)).split("portal.test", 1)[-1])


def test_no_double_full_stop_after_a_description(client, create_list, create_contact):
    mailing_list = create_list(description="A few times a year.")
    contact = create_contact(account=mailing_list.account)
    page = _centre(client, contact.id).get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "A few times a year." in text and ".." not in text


def test_a_description_without_a_stop_gets_one(client, create_list, create_contact):
    mailing_list = create_list(description="Once a week")
    contact = create_contact(account=mailing_list.account)
    page = _centre(client, contact.id).get_data(as_text=True)
    assert re.search(r"Once a week\.\s+\S", re.sub(r"<[^>]+>", " ", page))
