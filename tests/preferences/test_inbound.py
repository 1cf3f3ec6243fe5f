"""``POST /api/v1/inbound/unsubscribe``: a mail to the List-Unsubscribe ``mailto:`` address."""
import email
import email.policy
from pathlib import Path

import pytest

from portal import links
from portal.subscriptions.models import SubscriptionStatus

APPLE_MAIL = (Path(__file__).resolve().parents[1] / "fixtures" / "arf"
              / "06_apple_mail_mailto_unsubscribe_not_arf__sisimai_arf-26.eml")
DOMAIN = "unsub.portal.test"


@pytest.fixture
def apple_mail():
    return APPLE_MAIL.read_bytes()


def _mailto_address(client, person, platform_auth, app):
    app.config["PORTAL_UNSUBSCRIBE_MAIL_DOMAIN"] = DOMAIN
    account_id = person.contact.account_id
    answer = client.post(f"/api/v1/accounts/{account_id}/unsubscribe-links", headers=platform_auth,
                         json={"list_id": person.list_id, "recipients": [{"email": person.contact.email}]}).json
    header = answer["recipients"][0]["headers"]["List-Unsubscribe"]
    return header.split("<mailto:", 1)[1].rstrip(">")


def _rewrite_to(raw: bytes, address: str) -> bytes:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    message.replace_header("To", address)
    return message.as_bytes()


def _post(client, auth, raw, **params):
    return client.post("/api/v1/inbound/unsubscribe", headers=auth, data=raw, content_type="message/rfc822",
                       query_string=params)


def test_b_6_apple_mail_unsubscribe_by_the_token_in_to(app, client, subscriber, platform_auth, apple_mail):
    person = subscriber()
    address = _mailto_address(client, person, platform_auth, app)
    response = _post(client, platform_auth, _rewrite_to(apple_mail, address))
    assert response.status_code == 202
    assert response.json == {"matched": True, "action": "unsubscribed", "account_id": person.contact.account_id,
                             "list_id": person.list_id}
    assert person.status == SubscriptionStatus.UNSUBSCRIBED
    [event] = person.events("unsubscribed")
    assert event.source == "mailto" and person.suppressions()[0].reason == "unsubscribed"
    inbound_id = email.message_from_bytes(apple_mail, policy=email.policy.default)["Message-ID"]
    assert inbound_id and event.evidence["inbound_message_id"] == inbound_id.strip()
    again = _post(client, platform_auth, _rewrite_to(apple_mail, address))
    assert again.json["action"] == "already_unsubscribed" and len(person.events("unsubscribed")) == 1


def test_b_6_from_subject_and_body_do_not_matter(app, client, subscriber, platform_auth):
    person = subscriber()
    address = _mailto_address(client, person, platform_auth, app)
    raw = (f"From: someone-else@attacker.example\r\nTo: list@other.example\r\nDelivered-To: {address}\r\n"
           "Subject: please keep me subscribed\r\n\r\nsubscribe\r\n").encode()
    assert _post(client, platform_auth, raw).json["matched"] is True
    assert person.status == SubscriptionStatus.UNSUBSCRIBED


def test_envelope_recipient_may_be_given_as_a_parameter(app, client, subscriber, platform_auth):
    person = subscriber()
    address = _mailto_address(client, person, platform_auth, app)
    raw = b"From: a@b.example\r\nTo: undisclosed-recipients:;\r\nSubject: x\r\n\r\nx\r\n"
    assert _post(client, platform_auth, raw, recipient=address).json["matched"] is True


def test_b_7_forged_or_unknown_tokens_match_nothing_and_change_nothing(app, client, subscriber, platform_auth,
                                                                        apple_mail):
    person = subscriber()
    address = _mailto_address(client, person, platform_auth, app)
    local, domain = address.split("@")
    complaint = links.target_token("complaint", links.Target(person.contact.id, person.list_id))
    for forged in (f"{local[:-2]}xx@{domain}", f"unsubscribe+{complaint}@{domain}", f"unsubscribe+junk@{domain}",
                   f"someone@{domain}"):
        response = _post(client, platform_auth, _rewrite_to(apple_mail, forged))
        assert response.status_code == 202
        assert response.json == {"matched": False, "action": "none", "account_id": None, "list_id": None}
    assert person.status == SubscriptionStatus.CONFIRMED and person.suppressions() == []


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"hello, this is not a mail", b'{"email": "a@b.example"}'])
def test_not_a_mail_is_422(client, platform_auth, raw):
    response = _post(client, platform_auth, raw)
    assert response.status_code == 422 and response.json["error"]["code"] == "not_a_message"


def test_only_the_platform_may_post_inbound_mail(client, create_account, account_auth, apple_mail):
    response = _post(client, account_auth(create_account()), apple_mail)
    assert response.status_code == 403


def test_b_6_an_address_whose_case_a_server_changed_still_unsubscribes(app, client, subscriber, platform_auth,
                                                                        apple_mail):
    person = subscriber()
    address = _mailto_address(client, person, platform_auth, app)
    local = address.split("@")[0]
    assert len(local) <= 64  # RFC 5321 4.5.3.1.1
    response = _post(client, platform_auth, _rewrite_to(apple_mail, address.upper()))
    assert response.json["matched"] is True and person.status == SubscriptionStatus.UNSUBSCRIBED


def test_b_6_mail_to_an_address_from_before_compact_tokens_still_unsubscribes(app, client, subscriber, platform_auth,
                                                                              apple_mail):
    person = subscriber()
    legacy = links.target_token("unsubscribe", links.Target(person.contact.id, person.list_id))
    response = _post(client, platform_auth, _rewrite_to(apple_mail, f"unsubscribe+{legacy}@{DOMAIN}"))
    assert response.json["matched"] is True and person.status == SubscriptionStatus.UNSUBSCRIBED
