"""Webhooks cannot reach inside: refused at registration and again at delivery, connected to the
address that was checked. The network is the test's (tests/network.py): no connection ever leaves
loopback, and the tests assert that none was even attempted where an address is refused."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.outbox import worker
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.webhooks import operations
from portal.webhooks.models import WebhookEndpoint

INSIDE = [
    ("https://127.0.0.1:5432/", "loopback"),
    ("https://[::1]/", "loopback"),
    ("https://localhost/", "loopback"),
    ("https://app.localhost/", "loopback"),
    ("https://0.0.0.0/", "unspecified"),
    ("https://2130706433/", "loopback"),
    ("https://0177.0.0.1/", "loopback"),
    ("https://127.1/", "loopback"),
    ("https://0x7f.0.0.1/", "loopback"),
    ("https://[::ffff:127.0.0.1]/", "loopback"),
    ("https://[::ffff:7f00:1]/", "loopback"),
    ("https://[64:ff9b::a9fe:a9fe]/", "link-local"),
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://[fe80::1]/", "link-local"),
    ("https://10.0.0.1/", "private"),
    ("https://172.16.5.4/", "private"),
    ("https://192.168.1.1/", "private"),
    ("https://[fd00::1]/", "private"),
    ("https://100.64.0.1/", "non-public"),
    ("https://224.0.0.1/", "multicast"),
    ("https://[ff02::1]/", "multicast"),
    ("https://240.0.0.1/", "reserved"),
    ("https://255.255.255.255/", "reserved"),
    ("https://[::]/", "unspecified"),
]


@pytest.fixture
def no_loopback(app):
    app.config["PORTAL_WEBHOOKS_ALLOW_HTTP_LOOPBACK"] = False


def _endpoints() -> int:
    return operations.db.session.scalar(select(func.count()).select_from(WebhookEndpoint))


@pytest.mark.parametrize("url,reason", INSIDE)
def test_registration_refuses_every_inside_address(client, create_account, platform_auth, network, no_loopback,
                                                   url, reason):
    account = create_account()
    response = client.post(f"/api/v1/accounts/{account.id}/webhooks", headers=platform_auth,
                           json={"url": url, "events": ["confirmed"]})
    assert response.status_code == 422, url
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and reason in error["message"], error
    assert _endpoints() == 0
    assert network.connections == []
    assert network.resolved == []  # an IP literal (in any spelling) is never sent to a resolver


@pytest.mark.parametrize("addresses", [["10.1.2.3"], ["93.184.215.14", "192.168.0.7"], ["fe80::5"],
                                       ["127.0.0.1"], []])
def test_a_name_resolving_inside_is_refused(client, create_account, platform_auth, network, no_loopback, addresses):
    network.names["hooks.internal.example"] = addresses
    account = create_account()
    response = client.post(f"/api/v1/accounts/{account.id}/webhooks", headers=platform_auth,
                           json={"url": "https://hooks.internal.example/in"})
    assert response.status_code == 422
    assert "hooks.internal.example" in response.get_json()["error"]["message"]
    assert network.resolved == ["hooks.internal.example"] and network.connections == []
    assert _endpoints() == 0


def test_the_flag_is_the_only_way_to_loopback_and_it_allows_nothing_else(app, create_account, network):
    account = create_account()
    app.config["PORTAL_WEBHOOKS_ALLOW_HTTP_LOOPBACK"] = True
    assert operations.create_endpoint(account.id, url="http://127.0.0.1:9/h", events=["confirmed"]).id
    with pytest.raises(operations.ValidationFailed, match="private"):
        operations.create_endpoint(account.id, url="http://10.0.0.1/h", events=["confirmed"])
    network.names["public.example"] = ["93.184.215.14"]
    with pytest.raises(operations.ValidationFailed, match="https"):
        operations.create_endpoint(account.id, url="http://public.example/h", events=["confirmed"])


def test_delivery_checks_again_and_records_the_refusal(app, db, create_account, network, no_loopback):
    account = create_account()
    network.names["hooks.example"] = ["93.184.215.14"]
    operations.create_endpoint(account.id, url="https://hooks.example/in", events=["confirmed"])
    message = operations.emit(account.id, "confirmed", {"list_id": "L"})[0]
    db.session.commit()
    network.names["hooks.example"] = ["127.0.0.1"]  # the name rebinds to an inside address

    report = worker.run_once()

    stored = db.session.get(OutboxMessage, message.id)
    assert report.failed == [message.id] and stored.status == OutboxStatus.FAILED
    assert stored.last_error.startswith("WebhookRefused: refused:") and "loopback" in stored.last_error
    assert network.connections == []


def test_delivery_connects_to_the_checked_address_without_a_second_lookup(app, db, create_account, network,
                                                                         http_endpoint):
    port = http_endpoint.server_port
    network.names["hooks.example"] = ["127.0.0.1"]
    account = create_account()
    operations.create_endpoint(account.id, url=f"http://hooks.example:{port}/in", events=["confirmed"])
    message = operations.emit(account.id, "confirmed", {"list_id": "L"})[0]
    db.session.commit()
    network.resolved.clear()

    assert worker.run_once().sent == [message.id]

    assert network.resolved == ["hooks.example"]  # once, by the check
    assert network.connections == [("127.0.0.1", port)]
    path, headers, _body = http_endpoint.received[0]
    assert path == "/in" and headers["Host"] == f"hooks.example:{port}"


def test_a_public_address_is_connected_to_exactly_as_checked(app, db, create_account, network):
    network.names["hooks.example"] = ["93.184.215.14"]
    account = create_account()
    operations.create_endpoint(account.id, url="https://hooks.example/in", events=["confirmed"])
    message = operations.emit(account.id, "confirmed", {"list_id": "L"})[0]
    db.session.commit()

    assert worker.run_once().retried == [message.id]

    assert network.connections == [("93.184.215.14", 443)]  # the test connector refused it
    assert "no connection outside loopback" in db.session.get(OutboxMessage, message.id).last_error


def test_a_redirect_is_not_followed(app, db, http_endpoint):
    http_endpoint.statuses = [302]
    message = OutboxMessage(channel="webhook", kind="confirmed", payload={"body": "{}", "headers": {}},
                            recipient=f"http://127.0.0.1:{http_endpoint.server_port}/hook")
    db.session.add(message)
    db.session.commit()
    assert worker.run_once().retried == [message.id]
    assert len(http_endpoint.received) == 1
    assert "redirects are not followed" in db.session.get(OutboxMessage, message.id).last_error
