"""A suspended or deactivated account's forms mail nothing; untrusted page URLs are not kept."""
import pytest
from sqlalchemy import select

from portal.accounts.models import Account
from portal.consent.models import ConsentEvent, EventType
from portal.extensions import db
from portal.subscriptions.operations import find_contact
from tests.conftest import outbox
from tests.subscriptions.helpers import event_types, signup


@pytest.mark.parametrize("status,reason", [("suspended", "account_suspended"),
                                           ("deactivated", "account_deactivated")])
def test_a_blocked_accounts_form_answers_the_same_mails_nothing_and_the_ledger_says_why(
        client, create_form, status, reason):
    form, active = create_form(), create_form()
    db.session.get(Account, form.account_id).status = status
    db.session.commit()
    blocked_answer = signup(client, form)
    active_answer = signup(client, active)
    assert blocked_answer.status_code == active_answer.status_code == 303
    assert blocked_answer.headers["Location"].split("?")[0].endswith(f"/f/{form.id}/thanks")
    assert [m.account_id for m in outbox()] == [active.account_id]  # nothing queued for the blocked one
    json_answer = client.post(f"/f/{form.id}", json={"email": "ann@example.org"})
    assert json_answer.status_code == 202 and json_answer.json == {"status": "pending_confirmation"}
    contact = find_contact(form.account_id, "ann@example.org")
    assert EventType.CONFIRMATION_SENT not in event_types(contact.id)
    withheld = db.session.scalars(select(ConsentEvent).where(
        ConsentEvent.contact_id == contact.id, ConsentEvent.type == EventType.CONFIRMATION_WITHHELD)).all()
    assert withheld and {e.evidence["reason"] for e in withheld} == {reason}


@pytest.mark.parametrize("posted,referer", [
    ("https://evil.example/phish", None),
    (None, "https://evil.example/phish"),
    ("javascript:alert(1)", None),
    ("https://shop.example.evil.example/join", None),
])
def test_an_untrusted_page_url_is_neither_stored_nor_mailed(client, create_form, posted, referer):
    form = create_form(allowed_origins=["https://shop.example"])
    fields = {"page_url": posted} if posted else {}
    signup(client, form, headers={"Referer": referer} if referer else {}, **fields)
    contact = find_contact(form.account_id, "ann@example.org")
    [requested] = db.session.scalars(select(ConsentEvent).where(
        ConsentEvent.contact_id == contact.id, ConsentEvent.type == EventType.SIGNUP_REQUESTED)).all()
    assert requested.page_url is None
    [mail] = outbox()
    assert "evil.example" not in mail.payload["text"] and "evil.example" not in mail.payload["html"]


@pytest.mark.parametrize("page", ["https://shop.example/join?utm=1", "HOSTED", "HOSTED?lang=id"])
def test_a_page_url_on_an_allowed_origin_or_the_hosted_page_is_kept(client, create_form, page):
    form = create_form(allowed_origins=["https://shop.example"])
    url = page.replace("HOSTED", f"https://portal.test/f/{form.id}")
    signup(client, form, headers={"Referer": url})
    contact = find_contact(form.account_id, "ann@example.org")
    [requested] = db.session.scalars(select(ConsentEvent).where(
        ConsentEvent.contact_id == contact.id, ConsentEvent.type == EventType.SIGNUP_REQUESTED)).all()
    assert requested.page_url == url
