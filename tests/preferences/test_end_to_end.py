"""A real message built with the API's headers, parsed back, and unsubscribed as a mailbox provider does."""
import email
import email.policy
import re
from email.message import EmailMessage

import requests

from portal.subscriptions.models import SubscriptionStatus

B1 = re.compile(r"^\s*<[^<>\s]+>(\s*,\s*<[^<>\s]+>)*\s*$")


#: Long header lines must not be folded into RFC 2047 encoded words (which Python's default policy
#: does to a long List-Unsubscribe): receivers want it to start with "<" (RFC 2369, STANDARDS B-1).
SEND_POLICY = email.policy.SMTP.clone(max_line_length=998)


def _message(links_answer, footer, to):
    message = EmailMessage(policy=SEND_POLICY)
    message["From"] = "News <news@customer.example>"
    message["To"] = to
    message["Subject"] = "This week"
    message["Message-ID"] = "<week-1@platform.example>"
    for name, value in links_answer["headers"].items():
        message[name] = value
    url = links_answer["unsubscribe_url"]
    message.set_content("Hello!\n\n" + footer["text"].replace("{{unsubscribe_url}}", url))
    message.add_alternative("<p>Hello!</p>" + footer["html"].replace("{{unsubscribe_url}}", url), subtype="html")
    return message.as_bytes()


def _provider_post(client, raw: bytes, multipart: bool):
    """What a mailbox provider does: read the one https URI of List-Unsubscribe, POST the one-click body."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert len(parsed.get_all("List-Unsubscribe")) == 1 and len(parsed.get_all("List-Unsubscribe-Post")) == 1
    assert str(parsed["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    value = str(parsed["List-Unsubscribe"])
    assert B1.match(value)
    [url] = [uri for uri in re.findall(r"<([^<>]+)>", value) if uri.startswith("https://")]
    path = url.replace("https://portal.test", "")
    if multipart:
        prepared = requests.Request("POST", url, files={"List-Unsubscribe": (None, "One-Click")}).prepare()
        return client.post(path, data=prepared.body, content_type=prepared.headers["Content-Type"])
    return client.post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")


def test_c_1_a_ep_1_2_unsubscribe_from_a_real_message(app, client, subscriber, platform_auth):
    app.config["PORTAL_UNSUBSCRIBE_MAIL_DOMAIN"] = "unsub.portal.test"
    one = subscriber()
    two = subscriber(mailing_list=one.subscription.list)
    account_id = one.contact.account_id
    answer = client.post(f"/api/v1/accounts/{account_id}/unsubscribe-links", headers=platform_auth, json={
        "list_id": one.list_id, "recipients": [{"email": one.contact.email, "message_id": "<week-1@platform.example>"},
                                               {"email": two.contact.email, "message_id": "<week-1@platform.example>"}],
    }).json["recipients"]
    footer = client.get(f"/api/v1/accounts/{account_id}/footer", headers=platform_auth).json
    raws = [_message(item, footer, person.contact.email) for item, person in zip(answer, (one, two))]
    for raw in raws:
        assert b"{{" not in raw  # A-HDR-9: nothing left unrendered
        assert b"\r\nList-Unsubscribe: <https://portal.test/unsubscribe/" in raw  # B-1, B-2: as sent, not encoded
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        check = client.post(f"/api/v1/accounts/{account_id}/messages/check", headers=platform_auth, json={
            "html": parsed.get_body(("html",)).get_content(), "text": parsed.get_body(("plain",)).get_content(),
            "headers": {name: str(value) for name, value in parsed.items()}}).json
        assert check == {"ok": True, "review": False, "problems": []}

    for raw, person, multipart in ((raws[0], one, False), (raws[1], two, True)):
        response = _provider_post(client, raw, multipart)
        assert response.status_code == 200 and "Location" not in response.headers
        assert "Set-Cookie" not in response.headers
        assert person.status == SubscriptionStatus.UNSUBSCRIBED
        assert [(e.scope, e.list_id, e.reason) for e in person.suppressions()] == [
            ("list", person.list_id, "unsubscribed")]
        ledger = client.get(f"/api/v1/accounts/{account_id}/ledger", headers=platform_auth,
                            query_string={"email": person.contact.email}).json["events"]
        assert [e["type"] for e in ledger] == ["confirmed", "unsubscribed"]
        assert ledger[-1]["source"] == "one_click" and ledger[-1]["list_id"] == person.list_id
        assert ledger[-1]["evidence"]["message_ref"] == "<week-1@platform.example>"
