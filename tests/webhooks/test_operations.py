"""emit(): one signed outbox row per subscribed endpoint, delivered to a real HTTP server."""
import hashlib
import hmac
import json

import pytest

from portal.errors import ValidationFailed
from portal.outbox import worker
from portal.webhooks import operations
from tests.conftest import outbox


def test_emit_signs_a_body_the_receiver_can_verify(app, db, create_account, create_contact, http_endpoint):
    account = create_account()
    contact = create_contact(account, email="Rina@Example.org", name="Rina Wijaya")
    url = f"http://127.0.0.1:{http_endpoint.server_port}/hook"
    endpoint = operations.create_endpoint(account.id, url=url, events=["confirmed", "unsubscribed"])
    db.session.commit()

    messages = operations.emit(account.id, "confirmed", {"email": contact.email, "list_id": "L1"})
    db.session.commit()

    assert len(messages) == 1
    [stored] = outbox(channel="webhook")
    assert stored.kind == "confirmed" and stored.recipient == url
    assert worker.run_once().sent == [stored.id]  # the outbox worker delivers it
    _path, headers, body = http_endpoint.received[0]
    expected = "sha256=" + hmac.new(endpoint.secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Portal-Signature"], expected)
    assert headers["X-Portal-Event"] == "confirmed"
    assert headers["Content-Type"] == "application/json"
    event = json.loads(body)
    assert event["id"] == headers["X-Portal-Delivery"]
    assert event["event"] == "confirmed" and event["account_id"] == account.id
    # No more personal data than needed: the account's own contact's address, never the name.
    assert event["data"] == {"email": "Rina@example.org", "list_id": "L1"}
    assert "Rina Wijaya" not in body.decode()


def test_a_tampered_body_fails_the_signature(app, db, create_account):
    account = create_account()
    endpoint = operations.create_endpoint(account.id, url="https://hooks.example/in", events=["complained"])
    message = operations.emit(account.id, "complained", {"list_id": "L"})[0]
    tampered = message.payload["body"].replace('"complained"', '"confirmed"')
    assert operations.sign(endpoint.secret, message.payload["body"]) == message.payload["headers"]["X-Portal-Signature"]
    assert operations.sign(endpoint.secret, tampered) != message.payload["headers"]["X-Portal-Signature"]


def test_emit_only_to_subscribed_active_endpoints_of_that_account(app, db, create_account):
    account, other = create_account(), create_account()
    wanted = operations.create_endpoint(account.id, url="https://a.example/h", events=["suppressed"])
    operations.create_endpoint(account.id, url="https://b.example/h", events=["confirmed"])
    gone = operations.create_endpoint(account.id, url="https://c.example/h", events=["suppressed"])
    operations.create_endpoint(other.id, url="https://d.example/h", events=["suppressed"])
    operations.disable_endpoint(account.id, gone.id)

    messages = operations.emit(account.id, "suppressed", {"email_hash": "x"})

    assert [m.recipient for m in messages] == [wanted.url]


def test_emit_refuses_an_unknown_event(app, create_account):
    with pytest.raises(ValueError):
        operations.emit(create_account().id, "exploded", {})


@pytest.mark.parametrize("url", ["http://hooks.example/in", "ftp://hooks.example/", "https://user:pw@hooks.example/",
                                 "https:///nohost", "not a url"])
def test_only_https_urls_are_accepted(app, create_account, url):
    with pytest.raises(ValidationFailed):
        operations.create_endpoint(create_account().id, url=url, events=["confirmed"])


def test_http_loopback_needs_the_flag_even_in_testing(app, create_account):
    account = create_account()
    app.config["PORTAL_WEBHOOKS_ALLOW_HTTP_LOOPBACK"] = False  # TESTING alone no longer allows it
    with pytest.raises(ValidationFailed, match="loopback"):
        operations.create_endpoint(account.id, url="http://127.0.0.1:9/h", events=["confirmed"])
    app.config["PORTAL_WEBHOOKS_ALLOW_HTTP_LOOPBACK"] = True
    assert operations.create_endpoint(account.id, url="http://localhost:9/h", events=["confirmed"]).id
