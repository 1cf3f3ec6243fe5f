"""No dead ends (issue 20): the invalid and expired link pages name the sender only when a
well-signed token named it, and offer "send me a link to manage my subscriptions", which mails
each account holding the address its preference link and answers the same whatever the address."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import links
from portal.accounts.models import AccountStatus
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from portal.preferences.recovery import form_token, sender_of
from portal.privacy.operations import erase_contact
from portal.signup import operations as doi
from portal.subscriptions.models import Contact
from tests.conftest import other_app, outbox
from tests.pagetools import csrf_token, refusal
from portal.consent.evidence import RequestEvidence

PREFERENCES_LINK = re.compile(r"https://portal\.test(/preferences/[A-Za-z0-9._-]+)\?lang=(en|id)")


def _ask(client, email: str, sender: str | None = None, **kwargs):
    return client.post("/manage", data={"email": email, "sender": form_token(None) if sender is None else sender},
                       **kwargs)


def _sender_value(page: str) -> str:
    return re.search(r'name="sender" type="hidden" value="([^"]+)"', page).group(1)


def _mails() -> list[OutboxMessage]:
    return outbox("manage_links")


def test_a_tampered_link_offers_the_form_and_names_no_one(client, subscriber):
    person = subscriber()
    tampered = person.path[:-3] + "AAA"
    for response in (client.get(tampered), client.get(person.preferences_path[:-3] + "AAA")):
        page = response.get_data(as_text=True)
        assert refusal(response) == (404, "invalid_link")
        assert 'action="/manage"' in page and 'name="email"' in page
        assert person.contact.account.name not in page
        assert sender_of(_sender_value(page)) is None


def test_an_erased_persons_link_names_its_sender_and_offers_the_form(client, subscriber):
    person = subscriber()
    account_name, paths = person.contact.account.name, (person.preferences_path, person.path)
    erase_contact(person.contact)
    db.session.commit()
    for url in paths:
        response = client.get(url)
        page = response.get_data(as_text=True)
        assert refusal(response) == (404, "invalid_link") and "This link is not valid" in page
        assert f"The link came in an email from {account_name}" in page
        assert sender_of(_sender_value(page)).name == account_name


def test_an_expired_confirmation_link_names_the_sender_and_offers_both_ways(app, client, create_form):
    form = create_form()
    request = doi.request_signup(form, email="ann@example.org", evidence=RequestEvidence())
    db.session.commit()
    path, account_name = f"/confirm/{links.confirm_token(request.id)}", form.account.name
    with other_app(app, PORTAL_CONFIRM_MAX_AGE=timedelta(seconds=-1)) as expired_app:
        response = expired_app.test_client().get(path)
        page = response.get_data(as_text=True)
        assert response.status_code == 410
        assert f'action="{path}/resend"' in page and 'action="/manage"' in page
        assert f"The link came in an email from {account_name}" in page
        assert sender_of(_sender_value(page)).name == account_name


def test_send_me_a_link_mails_each_account_holding_the_address_its_preference_link(client, create_contact,
                                                                                    create_account):
    first, second = create_contact(email="ann@example.org"), create_contact(email="Ann@Example.org")
    create_contact(email="bob@example.org")
    names = {first.account.name, second.account.name}
    response = _ask(client, "ann@EXAMPLE.org")
    assert response.status_code == 303 and response.headers["Location"] == "/manage/sent"
    assert "Check your inbox" in client.get("/manage/sent").get_data(as_text=True)
    mails = _mails()
    assert sorted(m.recipient for m in mails) == ["Ann@example.org", "ann@example.org"]
    assert {m.account_id for m in mails} == {first.account_id, second.account_id}
    for mail in mails:
        assert any(name in mail.payload["subject"] for name in names)
        path = PREFERENCES_LINK.search(mail.payload["text"]).group(1)
        page = client.get(path)
        assert page.status_code == 200 and "Your email preferences" in page.get_data(as_text=True)


def test_a_sender_named_by_the_page_limits_the_mail_to_that_account(client, create_contact):
    first = create_contact(email="ann@example.org")
    create_contact(email="ann@example.org")
    assert _ask(client, "ann@example.org", sender=form_token(first.account)).status_code == 303
    assert [m.account_id for m in _mails()] == [first.account_id]


def test_the_link_mail_speaks_the_page_language(client, create_contact):
    create_contact(email="ann@example.org")
    client.post("/manage?lang=id", data={"email": "ann@example.org", "sender": form_token(None)})
    (mail,) = _mails()
    assert mail.payload["locale"] == "id" and "Atur langganan" in mail.payload["html"]
    assert PREFERENCES_LINK.search(mail.payload["text"]).group(2) == "id"


def test_known_and_unknown_addresses_get_the_same_answer_and_strangers_get_nothing(client, create_contact):
    create_contact(email="ann@example.org")
    contacts = db.session.scalar(select(func.count()).select_from(Contact))
    known, unknown = _ask(client, "ann@example.org"), _ask(client, "nobody@example.org")
    assert (known.status_code, known.headers["Location"], known.get_data()) == \
        (unknown.status_code, unknown.headers["Location"], unknown.get_data())
    assert [m.recipient for m in _mails()] == ["ann@example.org"]  # nothing for the stranger, nothing stored
    assert db.session.scalar(select(func.count()).select_from(Contact)) == contacts


def test_erased_people_and_silenced_accounts_are_not_mailed(client, create_contact):
    erased, silenced = create_contact(email="ann@example.org"), create_contact(email="ann@example.org")
    erase_contact(erased)
    silenced.account.status = AccountStatus.SUSPENDED
    db.session.commit()
    assert _ask(client, "ann@example.org").status_code == 303
    assert _mails() == []


@pytest.mark.parametrize("sender", ["", "garbage", "x.y", "W10.bm90LXNpZ25lZA"])
def test_a_missing_or_forged_sender_is_refused_and_mails_nothing(client, create_contact, sender):
    create_contact(email="ann@example.org")
    response = _ask(client, "ann@example.org", sender=sender, headers={"Accept": "application/json"})
    assert response.status_code == 400 and response.json["error"]["code"] == "form_unverified"
    assert _mails() == []


def test_a_sender_value_of_another_purpose_is_refused(client, subscriber):
    person = subscriber()
    forged = links.target_token("preferences", person.target)
    response = _ask(client, person.contact.email, sender=forged, headers={"Accept": "application/json"})
    assert response.status_code == 400 and response.json["error"]["code"] == "form_unverified"
    assert _mails() == []


def test_an_address_in_the_wrong_format_is_told_so_plainly(client):
    response = _ask(client, "not an address")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter an email address in the correct format, like name@example.com" in page
    assert 'aria-invalid="true"' in page and "<title>Error:" in page
    assert _mails() == []


def test_with_anti_forgery_on_the_form_works_without_a_cookie(csrf_client, create_contact):
    create_contact(email="ann@example.org")
    page = csrf_client.get("/manage").get_data(as_text=True)
    sender = _sender_value(page)
    token = csrf_token(page)
    refused = csrf_client.post("/manage", data={"email": "ann@example.org", "sender": sender},
                               headers={"Accept": "application/json"})
    assert refused.status_code == 400 and refused.json["error"]["code"] == "form_unverified"
    csrf_client.delete_cookie("session")
    answered = csrf_client.post("/manage", data={"email": "ann@example.org", "sender": sender, "csrf_token": token},
                                follow_redirects=False)
    assert answered.status_code == 303 and answered.headers.get("Set-Cookie") is None
    assert len(_mails()) == 1


@pytest.fixture
def tag():
    return secrets.token_hex(4)


def test_rate_limited_per_ip(app, redis_url, tag):
    with other_app(app, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_url, PORTAL_MANAGE_IP_LIMIT="2 per hour",
                   PORTAL_MANAGE_ADDRESS_LIMIT="100 per hour") as limited:
        client = limited.test_client()
        ip = {"REMOTE_ADDR": f"2001:db8:{tag[:4]}::1"}
        statuses = [_ask(client, f"p{n}.{tag}@example.org", environ_base=ip).status_code for n in range(3)]
        other_ip = _ask(client, f"q.{tag}@example.org", environ_base={"REMOTE_ADDR": f"2001:db8:{tag[:4]}::2"})
    assert statuses == [303, 303, 429] and other_ip.status_code == 303


def test_rate_limited_per_address_across_ips_and_spellings(app, redis_url, tag):
    address = f"ann.{tag}@example.org"
    spellings = [address, address.replace("example.org", "EXAMPLE.org"), "A" + address[1:]]
    with other_app(app, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_url, PORTAL_MANAGE_IP_LIMIT="100 per hour",
                   PORTAL_MANAGE_ADDRESS_LIMIT="2 per hour") as limited:
        client = limited.test_client()
        statuses = [_ask(client, email, environ_base={"REMOTE_ADDR": f"2001:db8:{tag[:4]}::{n + 1}"}).status_code
                    for n, email in enumerate(spellings)]
        other = _ask(client, f"bob.{tag}@example.org", environ_base={"REMOTE_ADDR": f"2001:db8:{tag[:4]}::9"})
    assert statuses == [303, 303, 429] and other.status_code == 303


def test_the_form_has_a_page_of_its_own_in_the_persons_language(client):
    page = client.get("/manage?lang=id").get_data(as_text=True)
    assert "<h1>Atur langganan Anda</h1>" in page and 'action="/manage?lang=id"' in page
    assert sender_of(_sender_value(page)) is None
    assert "Periksa kotak masuk Anda" in client.get("/manage/sent?lang=id").get_data(as_text=True)
