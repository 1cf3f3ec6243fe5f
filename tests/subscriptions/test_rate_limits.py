"""Signup rate limits (Flask-Limiter) against the real Redis, per IP and per address."""
from __future__ import annotations

import secrets

import pytest
import redis

from tests.conftest import other_app, outbox


class Keys:
    """Addresses and IPs of one test: Redis keeps counters for an hour, past the test."""

    def __init__(self):
        self.tag = secrets.token_hex(4)

    def email(self, local: str) -> str:
        return f"{local}.{self.tag}@example.org"

    def ip(self, n: int) -> str:
        return f"2001:db8:{self.tag[:4]}:{self.tag[4:]}::{n:x}"


@pytest.fixture
def keys():
    return Keys()


@pytest.fixture
def limited(app, redis_url):
    """An app with rate limits on, counted in Redis."""
    def make(**limits):
        return other_app(app, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_url, **limits)
    return make


def _post(client, url, email, ip):
    return client.post(url, data={"email": email}, environ_base={"REMOTE_ADDR": ip})


def test_per_ip_limit(limited, create_form, keys, redis_url):
    url = f"/f/{create_form().id}"
    with limited(PORTAL_SIGNUP_IP_LIMIT="3 per hour", PORTAL_SIGNUP_ADDRESS_LIMIT="100 per hour") as limited_app:
        client = limited_app.test_client()
        statuses = [_post(client, url, keys.email(f"p{n}"), keys.ip(1)).status_code for n in range(4)]
        other_ip = _post(client, url, keys.email("q"), keys.ip(2)).status_code
    assert statuses == [303, 303, 303, 429] and other_ip == 303
    assert redis.Redis.from_url(redis_url).keys(f"*{keys.tag[:4]}*")  # the counters live in Redis


def test_per_address_limit_counts_across_ips_and_spellings(limited, create_form, keys):
    url = f"/f/{create_form().id}"
    address = keys.email("ann")
    spellings = [address, address.replace("example.org", "EXAMPLE.org"), "A" + address[1:]]
    with limited(PORTAL_SIGNUP_IP_LIMIT="100 per hour", PORTAL_SIGNUP_ADDRESS_LIMIT="2 per hour") as limited_app:
        client = limited_app.test_client()
        statuses = [_post(client, url, email, keys.ip(n)).status_code for n, email in enumerate(spellings)]
        other = _post(client, url, keys.email("bob"), keys.ip(9)).status_code
    assert statuses == [303, 303, 429] and other == 303


def test_json_rate_limit_answers_429_json(limited, create_form, keys):
    url = f"/f/{create_form().id}"
    with limited(PORTAL_SIGNUP_IP_LIMIT="1 per hour") as limited_app:
        client = limited_app.test_client()
        env = {"REMOTE_ADDR": keys.ip(1)}
        client.post(url, json={"email": keys.email("a")}, environ_base=env)
        response = client.post(url, json={"email": keys.email("b")}, environ_base=env,
                               headers={"Accept": "application/json"})
    assert response.status_code == 429 and "error" in response.get_json()
    assert len(outbox()) == 1
