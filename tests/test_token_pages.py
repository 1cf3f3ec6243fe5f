"""Token pages leak nothing: every answer under a token URL (404 and errors included) is never
cached and never sent on as a Referer, and no token carries the platform's message_id readably."""
from __future__ import annotations

import base64
import zlib

import pytest

from portal import links
from portal.errors import TokenInvalid

SECRET_REF = "<campaign-2026-12-secret.7731@platform.example>"


@pytest.fixture
def tokens(create_subscription):
    subscription = create_subscription()
    target = links.Target(subscription.contact_id, subscription.list_id, SECRET_REF)
    return {purpose: links.target_token(purpose, target) for purpose in links.LINK_PURPOSES}


def _requests(tokens):
    good = tokens["unsubscribe"]
    yield "GET", f"/unsubscribe/{good}"
    yield "GET", f"/preferences/{tokens['preferences']}"
    yield "GET", f"/complaint/{tokens['complaint']}"
    yield "GET", f"/preferences/{tokens['preferences']}/data"
    yield "GET", f"/preferences/{tokens['preferences']}/erase"
    for prefix in ("/unsubscribe/", "/preferences/", "/complaint/", "/confirm/", "/erase/"):
        yield "GET", prefix + good[:-3] + "AAA"  # tampered: 404
        yield "POST", prefix + good[:-3] + "AAA"
    yield "GET", f"/unsubscribe/{good}/no-such-page"  # no route: 404
    yield "DELETE", f"/unsubscribe/{good}"  # 405
    yield "GET", "/confirm/not-a-token"


def test_every_token_answer_is_no_store_and_no_referrer(client, tokens):
    seen = set()
    for method, path in _requests(tokens):
        response = client.open(path, method=method)
        seen.add(response.status_code)
        assert response.headers.get("Cache-Control") == "no-store", (method, path, response.status_code)
        assert response.headers.get("Referrer-Policy") == "no-referrer", (method, path)
    assert {200, 404, 405} <= seen


def _token_rules(app):
    """Every rule of the URL map that takes a link token (the one source of the token routes)."""
    rules = [rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert {"/receipts/<token>", "/receipts/<token>.json", "/confirm/<token>"} <= {rule.rule for rule in rules}
    return rules


def test_every_rule_with_a_token_is_no_store_no_referrer_and_masked(app, client, tokens):
    """Walked from the URL map: each method of each token rule, with a tampered token and with a
    mistyped path below it, answers no-store and no-referrer, and its URL is masked in a log line."""
    from portal.logs import mask

    secret = tokens["unsubscribe"][:-3] + "AAA"
    for rule in _token_rules(app):
        path = rule.rule.replace("<token>", secret)
        for method in sorted(rule.methods - {"OPTIONS"}) + ["DELETE"]:
            for url in (path, path + "/no-such-page"):
                response = client.open(url, method=method)
                assert response.status_code in {400, 404, 405}, (method, url, response.status_code)
                assert response.headers.get("Cache-Control") == "no-store", (method, url)
                assert response.headers.get("Referrer-Policy") == "no-referrer", (method, url)
                line = mask(f'"{method} {url}?lang=id HTTP/1.1" 404 https://portal.test{url}')
                assert secret not in line and "***" in line, line


def test_receipt_pages_are_no_store_and_no_referrer(client, create_subscription):
    from portal.receipts.operations import receipt_token

    token = receipt_token(create_subscription().contact_id)
    for path, status in ((f"/receipts/{token}", 200), (f"/receipts/{token}.json", 200),
                         (f"/receipts/{token[:-3]}AAA", 404), (f"/receipts/{token[:-3]}AAA.json", 404),
                         (f"/receipts/{token}/no-such-page", 404)):
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers.get("Cache-Control") == "no-store", path
        assert response.headers.get("Referrer-Policy") == "no-referrer", path


def test_a_token_route_added_later_is_covered_without_a_list_to_edit(app, client):
    """A new rule with a <token> argument (added before the app's first request, as Flask requires)."""
    from portal.logs import mask

    app.add_url_rule("/new-kind-of-link/<token>", "new_kind_of_link", lambda token: "hello")
    response = client.get("/new-kind-of-link/SECRET.TOKEN")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Referrer-Policy"] == "no-referrer"
    assert mask("GET /new-kind-of-link/SECRET.TOKEN HTTP/1.1") == "GET /new-kind-of-link/*** HTTP/1.1"
    assert client.get("/f/not-a-token").headers.get("Cache-Control") != "no-store"  # other pages may be cached


def _payload_bytes(token: str) -> bytes:
    payload = token.rsplit(".", 1)[0]
    compressed = payload.startswith(".")
    raw = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload.lstrip(".")) % 4))
    return zlib.decompress(raw) if compressed else raw


def test_no_token_carries_the_message_id_readably(app, tokens):
    for purpose, token in tokens.items():
        assert b"campaign" not in _payload_bytes(token) and b"platform.example" not in _payload_bytes(token)
        assert links.load_target(purpose, token).message_ref == SECRET_REF


def test_the_unsubscribe_links_api_seals_the_message_id(client, create_list, platform_auth):
    mailing_list = create_list()
    response = client.post(f"/api/v1/accounts/{mailing_list.account_id}/unsubscribe-links", headers=platform_auth,
                           json={"list_id": mailing_list.id,
                                 "recipients": [{"email": "r@example.org", "message_id": SECRET_REF}]})
    urls = response.get_json()["recipients"][0]
    for name in ("unsubscribe_url", "preferences_url", "complaint_url"):
        token = urls[name].rsplit("/", 1)[1]
        assert b"campaign" not in _payload_bytes(token)
        assert links.load_target(name.split("_")[0], token).message_ref == SECRET_REF


def test_links_mailed_before_sealing_still_work(app, create_subscription):
    from portal.tokens import make_token

    subscription = create_subscription()
    legacy = make_token("unsubscribe", [subscription.contact_id, subscription.list_id, "<old@platform>"])
    assert links.load_target("unsubscribe", legacy).message_ref == "<old@platform>"


def test_a_sealed_ref_survives_key_rotation_and_nothing_else_opens_it(app):
    sealed = links.seal_ref(SECRET_REF)
    app.config.update(SECRET_KEY="a-new-key", SECRET_KEY_FALLBACKS=["test-secret-key"])
    assert links.open_ref(sealed) == SECRET_REF
    app.config.update(SECRET_KEY_FALLBACKS=[])
    with pytest.raises(TokenInvalid):
        links.open_ref(sealed)
    with pytest.raises(TokenInvalid):
        links.open_ref(sealed[:-2] + ("AA" if not sealed.endswith("AA") else "BB"))


def test_every_token_page_names_its_address_masked_never_in_full(client, create_contact, create_subscription):
    """(The confirmation page: tests/subscriptions/test_next_steps.py.)"""
    contact = create_contact(email="ann.smith+news@example.org")
    subscription = create_subscription(contact=contact)
    tokens = links.target_tokens(links.Target(contact.id, subscription.list_id))
    paths = [f"/unsubscribe/{tokens['unsubscribe']}", f"/preferences/{tokens['preferences']}",
             f"/complaint/{tokens['complaint']}", f"/preferences/{tokens['preferences']}/data",
             f"/preferences/{tokens['preferences']}/erase", links.erase_url(contact.id).replace("https://portal.test", "")]
    for path in paths:
        page = client.get(path).get_data(as_text=True)
        assert "a***@example.org" in page, path
        assert "ann.smith" not in page and "news@" not in page, path
