"""Signup rate limits (Flask-Limiter) against the real Redis, per IP and per address."""
from __future__ import annotations

import uuid

import pytest

from portal.extensions import db
from tests.conftest import make_app
from tests.subscriptions.helpers import outbox


@pytest.fixture
def limited(app, redis_url):
    """A client of an app with rate limits on, stored in Redis under a prefix of its own."""
    def make(**limits):
        limited_app = make_app(app.config["SQLALCHEMY_DATABASE_URI"], RATELIMIT_ENABLED=True,
                               RATELIMIT_STORAGE_URI=redis_url, RATELIMIT_KEY_PREFIX=uuid.uuid4().hex,
                               PORTAL_OUTBOX_DIR=app.config["PORTAL_OUTBOX_DIR"], **limits)
        return limited_app, limited_app.test_client()
    return make


def _post(client, form, email, ip="203.0.113.5"):
    return client.post(f"/f/{form.id}", data={"email": email}, environ_base={"REMOTE_ADDR": ip})


def test_per_ip_limit(limited, create_form, redis_url):
    import redis

    form = create_form()
    limited_app, client = limited(PORTAL_SIGNUP_IP_LIMIT="3 per hour", PORTAL_SIGNUP_ADDRESS_LIMIT="100 per hour")
    with limited_app.app_context():
        statuses = [_post(client, form, f"p{n}@example.org").status_code for n in range(4)]
        other_ip = _post(client, form, "q@example.org", ip="198.51.100.1").status_code
        db.session.remove()
    assert statuses == [303, 303, 303, 429] and other_ip == 303
    prefix = limited_app.config["RATELIMIT_KEY_PREFIX"]
    assert redis.Redis.from_url(redis_url).keys(f"*{prefix}*")  # the counters live in Redis


def test_per_address_limit_counts_across_ips_and_spellings(limited, create_form):
    form = create_form()
    limited_app, client = limited(PORTAL_SIGNUP_IP_LIMIT="100 per hour", PORTAL_SIGNUP_ADDRESS_LIMIT="2 per hour")
    with limited_app.app_context():
        statuses = [_post(client, form, email, ip=f"198.51.100.{n}").status_code
                    for n, email in enumerate(["ann@example.org", "ann@EXAMPLE.org", "Ann@example.org"])]
        other = _post(client, form, "bob@example.org").status_code
        db.session.remove()
    assert statuses == [303, 303, 429] and other == 303


def test_json_rate_limit_answers_429_json(limited, create_form):
    form = create_form()
    limited_app, client = limited(PORTAL_SIGNUP_IP_LIMIT="1 per hour")
    with limited_app.app_context():
        client.post(f"/f/{form.id}", json={"email": "a@example.org"})
        response = client.post(f"/f/{form.id}", json={"email": "b@example.org"},
                               headers={"Accept": "application/json"})
        db.session.remove()
    assert response.status_code == 429 and "error" in response.get_json()
    assert len(outbox()) == 1
