"""``POST .../unsubscribe-links``, ``GET .../footer`` and ``POST .../messages/check``."""
import base64
import re

import pytest
from sqlalchemy import func, select

from portal import links
from portal.errors import TokenInvalid
from portal.subscriptions.models import Contact
from tests.pagetools import refusal

B1 = re.compile(r"^\s*<[^<>\s]+>(\s*,\s*<[^<>\s]+>)*\s*$")
TOKEN_CHARS = re.compile(r"^[A-Za-z0-9._~-]+$")


def _links(client, account, mailing_list, auth, recipients):
    return client.post(f"/api/v1/accounts/{account.id}/unsubscribe-links", headers=auth,
                       json={"list_id": mailing_list.id, "recipients": recipients})


@pytest.fixture
def setup(create_account, create_list, platform_auth):
    account = create_account()
    return account, create_list(account), platform_auth


def test_links_answer_each_recipient_in_order_emails_as_sent(client, setup, create_contact, db):
    account, mailing_list, auth = setup
    known = create_contact(account, "Known@Example.org")
    recipients = [{"email": "New.Person@EXAMPLE.org", "message_id": "<m1@platform.example>"},
                  {"email": "known@example.org", "message_id": "<m2@platform.example>"},
                  {"email": "third@example.net"}]
    response = _links(client, account, mailing_list, auth, recipients)
    assert response.status_code == 200, response.json
    answer = response.json["recipients"]
    assert [r["email"] for r in answer] == ["New.Person@EXAMPLE.org", "known@example.org", "third@example.net"]
    targets = [links.load_target("unsubscribe", r["unsubscribe_url"].rsplit("/", 1)[1]) for r in answer]
    assert targets[1] == links.Target(known.id, mailing_list.id, "<m2@platform.example>")
    assert targets[2].message_ref is None and targets[0].list_id == mailing_list.id
    new = db.session.get(Contact, targets[0].contact_id)
    assert new.account_id == account.id and new.email == "New.Person@example.org"
    for item, target in zip(answer, targets):
        assert links.load_target("preferences", item["preferences_url"].rsplit("/", 1)[1]) == target
        assert links.load_target("complaint", item["complaint_url"].rsplit("/", 1)[1]) == target


def test_a_hdr_headers_are_exact_rfc2369_and_rfc8058_values(client, setup):
    account, mailing_list, auth = setup
    item = _links(client, account, mailing_list, auth, [{"email": "a@example.org"}]).json["recipients"][0]
    assert item["headers"] == {"List-Unsubscribe": f"<{item['unsubscribe_url']}>",
                               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert item["unsubscribe_url"].startswith("https://portal.test/unsubscribe/")
    assert B1.match(item["headers"]["List-Unsubscribe"])


def test_b5_mailto_comes_after_https_when_a_mail_domain_is_set(client, setup, app):
    account, mailing_list, auth = setup
    app.config["PORTAL_UNSUBSCRIBE_MAIL_DOMAIN"] = "unsub.portal.test"
    item = _links(client, account, mailing_list, auth, [{"email": "a@example.org", "message_id": "<x@y>"}]
                  ).json["recipients"][0]
    value = item["headers"]["List-Unsubscribe"]
    assert B1.match(value)
    https, mailto = re.findall(r"<([^>]+)>", value)
    assert https == item["unsubscribe_url"]
    token = re.fullmatch(r"mailto:unsubscribe\+(.+)@unsub\.portal\.test", mailto).group(1)
    assert TOKEN_CHARS.match(token)
    assert links.load_target("mailto", token).contact_id == links.load_target(
        "unsubscribe", https.rsplit("/", 1)[1]).contact_id


def test_a_hdr_5_7_tokens_are_opaque_and_per_recipient_and_list(client, setup, create_list):
    account, mailing_list, auth = setup
    other_list = create_list(account)
    recipients = [{"email": "secret.person@example.org"}, {"email": "b@example.org"}]
    one = _links(client, account, mailing_list, auth, recipients).json["recipients"]
    two = _links(client, account, other_list, auth, recipients).json["recipients"]
    urls = {r["unsubscribe_url"] for r in one + two}
    assert len(urls) == 4
    for url in urls:
        token = url.rsplit("/", 1)[1]
        assert TOKEN_CHARS.match(token)
        payload = base64.urlsafe_b64decode(token.split(".")[0] + "==")
        assert b"secret" not in payload and b"example.org" not in payload and "secret" not in url


def test_contacts_are_created_in_bulk_once(client, setup, db):
    account, mailing_list, auth = setup
    recipients = [{"email": f"p{i}@example.org"} for i in range(300)] + [{"email": "P0@example.org"}]
    first = _links(client, account, mailing_list, auth, recipients).json["recipients"]
    again = _links(client, account, mailing_list, auth, recipients).json["recipients"]
    count = db.session.scalar(select(func.count()).select_from(Contact).where(Contact.account_id == account.id))
    assert count == 300
    ids = [links.load_target("unsubscribe", r["unsubscribe_url"].rsplit("/", 1)[1]).contact_id
           for r in first + again]
    assert ids[0] == ids[300] == ids[301]  # the same person, however the address is cased
    assert ids[:301] == ids[301:]


def test_invalid_addresses_are_named_and_nothing_is_created(client, setup, db):
    account, mailing_list, auth = setup
    response = _links(client, account, mailing_list, auth, [{"email": "ok@example.org"}, {"email": "nope"}])
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_email"
    assert response.json["error"]["details"] == [{"index": 1, "email": "nope"}]
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_more_than_10000_recipients_is_413(client, setup):
    account, mailing_list, auth = setup
    response = _links(client, account, mailing_list, auth, [{"email": f"p{i}@x.org"} for i in range(10_001)])
    assert response.status_code == 413


def test_another_accounts_list_or_account_is_404(client, setup, create_list, account_auth, create_account):
    account, _list, _auth = setup
    foreign = create_list()
    assert refusal(_links(client, account, foreign, _auth, [{"email": "a@x.org"}])) == (404, "not_found")
    other = create_account()
    response = _links(client, account, _list, account_auth(other), [{"email": "a@x.org"}])
    assert refusal(response) == (404, "not_found")


def test_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/accounts/{account_id}/unsubscribe-links", "/api/v1/accounts/{account_id}/footer",
                 "/api/v1/accounts/{account_id}/messages/check", "/api/v1/inbound/unsubscribe"):
        assert path in paths, sorted(paths)


# --- footer -------------------------------------------------------------------------------

def test_d1_footer_has_the_postal_address_and_placeholder(client, create_account, platform_auth):
    account = create_account(postal_address="Jl. Merdeka 1\nBandung 40111 & Co")
    body = client.get(f"/api/v1/accounts/{account.id}/footer", headers=platform_auth).json
    assert "{{unsubscribe_url}}" in body["html"] and "{{unsubscribe_url}}" in body["text"]
    assert "Jl. Merdeka 1<br>Bandung 40111 &amp; Co" in body["html"]
    assert "Jl. Merdeka 1\nBandung 40111 & Co" in body["text"]


def test_footer_of_an_account_without_address_is_refused(client, create_account, platform_auth):
    account = create_account(postal_address=None)
    response = client.get(f"/api/v1/accounts/{account.id}/footer", headers=platform_auth)
    assert response.status_code == 409 and response.json["error"]["code"] == "no_postal_address"


def test_footer_passes_the_message_check(client, create_account, platform_auth):
    account = create_account()
    footer = client.get(f"/api/v1/accounts/{account.id}/footer", headers=platform_auth).json
    result = _check(client, account, platform_auth, html="<p>Hi</p>" + footer["html"],
                    text="Hi\n" + footer["text"], headers=GOOD_HEADERS)
    assert result == {"ok": True, "review": False, "problems": []}


# --- message check ------------------------------------------------------------------------

GOOD_HEADERS = {"List-Unsubscribe": "<https://portal.test/unsubscribe/abc>, <mailto:u@x.org>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _check(client, account, auth, **body):
    response = client.post(f"/api/v1/accounts/{account.id}/messages/check", headers=auth, json=body)
    assert response.status_code == 200, response.json
    return response.json


def _codes(result):
    return [p["code"] for p in result["problems"]]


def test_a_hdr_message_check_names_every_missing_piece(client, create_account, platform_auth):
    account = create_account()
    result = _check(client, account, platform_auth, html="<p>Hello</p>", text="Hello", headers={})
    assert result["ok"] is False
    assert _codes(result) == ["missing_unsubscribe_link_html", "missing_postal_address_html",
                              "missing_unsubscribe_link_text", "missing_postal_address_text",
                              "missing_list_unsubscribe", "missing_list_unsubscribe_post"]
    assert _codes(_check(client, account, platform_auth)) == [
        "missing_body", "missing_list_unsubscribe", "missing_list_unsubscribe_post"]


@pytest.mark.parametrize("value, code", [
    ("<http://portal.test/u/1>", "list_unsubscribe_http"),
    ("<mailto:u@x.org>", "list_unsubscribe_no_https"),
    ("<https://a.test/1>, <https://b.test/2>", "list_unsubscribe_multiple_https"),
    ("https://a.test/1", "list_unsubscribe_syntax"),
    ("<https://a.test/ 1>", "list_unsubscribe_syntax"),
    (["<https://a.test/1>", "<https://a.test/1>"], "duplicate_list_unsubscribe"),
    ("<https://a.test/{{unsubscribe_url}}>", "list_unsubscribe_placeholder"),
])
def test_a_hdr_1_3_9_list_unsubscribe_problems(client, create_account, platform_auth, value, code):
    account = create_account()
    headers = {"List-Unsubscribe": value, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert code in _codes(_check(client, account, platform_auth, text="x", headers=headers))


@pytest.mark.parametrize("value, code", [
    ("list-unsubscribe=one-click", "list_unsubscribe_post_malformed"),
    ("List-Unsubscribe=One-Click; x=1", "list_unsubscribe_post_malformed"),
    ("List-Unsubscribe=One-Click ", "list_unsubscribe_post_malformed"),
    (["List-Unsubscribe=One-Click", "List-Unsubscribe=One-Click"], "duplicate_list_unsubscribe_post"),
])
def test_a_hdr_2_list_unsubscribe_post_must_be_exact(client, create_account, platform_auth, value, code):
    account = create_account()
    headers = {"List-Unsubscribe": "<https://a.test/1>", "list-unsubscribe-post": value}
    assert code in _codes(_check(client, account, platform_auth, text="x", headers=headers))


def test_a_hdr_1_headers_counted_case_insensitively(client, create_account, platform_auth):
    account = create_account()
    headers = {"List-Unsubscribe": "<https://a.test/1>", "list-unsubscribe": "<https://a.test/1>",
               "List-Unsubscribe-Post": " List-Unsubscribe=One-Click"}
    assert "duplicate_list_unsubscribe" in _codes(_check(client, account, platform_auth, text="x", headers=headers))
    assert "list_unsubscribe_post_malformed" not in _codes(_check(client, account, platform_auth, text="x",
                                                                  headers=headers))


def test_c2_a_real_portal_link_counts_a_forged_one_does_not(client, create_account, platform_auth,
                                                            create_contact, create_list):
    account = create_account(postal_address="Jl. Merdeka 1, Bandung")
    mailing_list = create_list(account)
    url = links.unsubscribe_url(links.Target(create_contact(account).id, mailing_list.id))
    good = _check(client, account, platform_auth, html=f'<a href="{url}">Unsubscribe</a> Jl. Merdeka 1<br>Bandung',
                  text=f"{url}\nJl. Merdeka 1,\n Bandung", headers=GOOD_HEADERS)
    assert good == {"ok": True, "review": False, "problems": []}
    forged = url[:-3] + ("aaa" if not url.endswith("aaa") else "bbb")
    bad = _check(client, account, platform_auth, text=f"{forged}\nJl. Merdeka 1, Bandung", headers=GOOD_HEADERS)
    assert _codes(bad) == ["missing_unsubscribe_link_text"]


def test_bulk_minted_urls_are_the_single_ones(app):
    target = links.Target(7, "L1", "<m@x>")
    assert links.target_urls(target) == {"unsubscribe_url": links.unsubscribe_url(target),
                                         "preferences_url": links.preferences_url(target),
                                         "complaint_url": links.complaint_url(target)}


def test_b5_the_mailto_address_fits_rfc_5321_and_survives_a_change_of_case(client, setup, app):
    account, mailing_list, auth = setup
    app.config["PORTAL_UNSUBSCRIBE_MAIL_DOMAIN"] = "unsub.portal.test"
    plain, with_ref = _links(client, account, mailing_list, auth,
                             [{"email": "a@example.org"}, {"email": "b@example.org", "message_id": "<x@y>"}]
                             ).json["recipients"]
    for item in (plain, with_ref):
        https, mailto = re.findall(r"<([^>]+)>", item["headers"]["List-Unsubscribe"])
        local = re.fullmatch(r"mailto:(.+)@unsub\.portal\.test", mailto).group(1)
        token = local.removeprefix("unsubscribe+")
        assert len(local) <= 64 and re.fullmatch(r"[a-z2-7]+", token)  # RFC 5321 4.5.3.1.1; one case
        target = links.load_target("unsubscribe", https.rsplit("/", 1)[1])
        expected = links.Target(target.contact_id, target.list_id)  # no message ref: it would not fit
        assert links.load_target("mailto", token) == links.load_target("mailto", token.upper()) == expected
        for purpose in ("unsubscribe", "preferences", "complaint"):  # a mailto token is nothing else
            with pytest.raises(TokenInvalid):
                links.load_target(purpose, token)

def test_a_mailto_target_the_compact_form_cannot_carry_gets_an_unsubscribe_token(app):
    for target in (links.Target(5, None), links.Target(5, "not-a-hex-list-id")):
        token = links.mail_token(target)
        assert "." in token and links.load_target("mailto", token) == target
