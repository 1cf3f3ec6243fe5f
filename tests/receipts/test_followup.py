"""The confirmation's follow-up: "you are subscribed", with the receipt, the preference centre and
the unsubscribe links, in the person's language, sent through the outbox; a setting turns it off."""
import re

import pytest

from portal.consent.models import ConsentEvent
from portal.extensions import db
from portal.outbox.worker import run_once
from tests.conftest import outbox
from tests.subscriptions.helpers import confirm_path

LINK = re.compile(r"https://portal\.test(/[A-Za-z0-9._/-]+)")


def confirmed_by_the_person(client, form, lang="en", email="rina@example.org"):
    """A signup on the hosted page in ``lang``, confirmed by pressing the mail's button."""
    client.post(f"/f/{form.id}?lang={lang}", data={"email": email})
    confirmation, = outbox("confirmation")
    assert client.post(confirm_path(confirmation), data={"confirm": "1"}).status_code == 303
    return outbox("subscribed")


def test_confirming_queues_the_follow_up_with_the_receipt_preferences_and_unsubscribe_links(client, create_form):
    form = create_form()
    mail, = confirmed_by_the_person(client, form)
    text = mail.payload["text"]
    assert mail.recipient == "rina@example.org" and mail.account_id == form.account_id
    assert mail.payload["subject"] == f"You are subscribed to {form.account.name}"
    assert form.lists[0].name in text and form.account.postal_address in text
    paths = LINK.findall(text)
    receipt, preferences, unsubscribe = ([p for p in paths if p.startswith(prefix)]
                                         for prefix in ("/receipts/", "/preferences/", "/unsubscribe/"))
    assert len(receipt) == len(preferences) == len(unsubscribe) == 1
    assert "rina@example.org" in client.get(receipt[0]).get_data(as_text=True)
    assert client.get(preferences[0]).status_code == 200 and client.get(unsubscribe[0]).status_code == 200
    assert all(p in mail.payload["html"] for p in receipt + preferences + unsubscribe)
    assert mail.payload["headers"]["List-Unsubscribe"] == f"<https://portal.test{unsubscribe[0]}>"
    assert mail.payload["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_follow_up_speaks_the_language_the_person_signed_up_in(client, create_form):
    form = create_form()  # an English account
    mail, = confirmed_by_the_person(client, form, lang="id")
    assert mail.payload["locale"] == "id"
    assert mail.payload["subject"] == f"Anda berlangganan {form.account.name}"
    assert "tanda terima persetujuan" in mail.payload["text"]


def test_the_follow_up_leaves_through_the_outbox(app, client, create_form):
    form = create_form()
    confirmed_by_the_person(client, form)
    report = run_once()
    assert len(report.sent) == 2  # the confirmation and its follow-up
    assert all(m.status == "sent" for m in outbox())


@pytest.mark.app_config(PORTAL_SUBSCRIBED_MAIL=False)
def test_the_setting_turns_the_follow_up_off(client, create_form):
    form = create_form()
    assert confirmed_by_the_person(client, form) == []
    assert db.session.query(ConsentEvent).filter_by(type="confirmed").count() == 1
