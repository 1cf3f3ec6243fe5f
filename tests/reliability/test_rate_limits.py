"""Every public POST is rate limited, counted in Redis and so shared by every process
(STANDARDS G-16). The one-click unsubscribe is limited per link, never per IP."""
from __future__ import annotations

import secrets

import pytest
import requests

from portal import links
from portal.extensions import db
from tests.conftest import ledger_env, other_app
from tests.reliability.support import LiveServer


#: Route -> the config key of its limit. Signup and resend have their own tests
#: (tests/subscriptions/test_rate_limits.py), and so has "send me a link", limited per IP and per
#: address (tests/preferences/test_manage_links.py).
LIMITED = {
    "/confirm/{t}": "PORTAL_CONFIRM_IP_LIMIT",
    "/unsubscribe/{t}": "PORTAL_UNSUBSCRIBE_TOKEN_LIMIT",
    "/unsubscribe/{t}/reason": "PORTAL_UNSUBSCRIBE_TOKEN_LIMIT",
    "/unsubscribe/{t}/undo": "PORTAL_UNSUBSCRIBE_TOKEN_LIMIT",
    "/unsubscribe/{t}/rejoin": "PORTAL_UNSUBSCRIBE_TOKEN_LIMIT",
    "/preferences/{t}": "PORTAL_PREFERENCES_IP_LIMIT",
    "/complaint/{t}": "PORTAL_COMPLAINT_FORM_LIMIT",
    "/preferences/{t}/data": "PORTAL_PRIVACY_IP_LIMIT",
    "/preferences/{t}/erase": "PORTAL_PRIVACY_IP_LIMIT",
    "/erase/{t}": "PORTAL_PRIVACY_IP_LIMIT",
}
ELSEWHERE = {"/f/<form_id>", "/confirm/<token>/resend", "/manage"}
#: The compliance console's POSTs: its sign-in is limited per IP and per user name
#: (tests/ops/test_views.py); the others need a signed-in operator.
CONSOLE = {"/ops/signin", "/ops/signout", "/ops/accounts/<account_id>/decision"}


def _ip() -> str:
    tag = secrets.token_hex(4)
    return f"2001:db8:{tag[:4]}:{tag[4:]}::1"


def test_every_public_post_is_in_this_list(app):
    posts = {rule.rule for rule in app.url_map.iter_rules()
             if "POST" in (rule.methods or ()) and not rule.rule.startswith("/api/")}
    assert posts == {route.replace("{t}", "<token>") for route in LIMITED} | ELSEWHERE | CONSOLE


@pytest.mark.parametrize("route", LIMITED)
def test_a_public_post_answers_429_past_its_limit(app, redis_url, route):
    token = secrets.token_urlsafe(24)  # unknown: 404, which counts all the same
    path = route.format(t=token)
    env = {"REMOTE_ADDR": _ip()}
    with other_app(app, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_url, **{LIMITED[route]: "2 per hour"}) as limited:
        client = limited.test_client()
        codes = [client.post(path, environ_base=env).status_code for _ in range(3)]
    assert codes[:2] != [429, 429] and codes[2] == 429


def test_one_click_is_limited_per_link_not_per_ip(app, redis_url, create_subscription):
    subscription = create_subscription()
    paths = [links.unsubscribe_url(links.Target(subscription.contact_id, subscription.list_id, f"<{n}.{secrets.token_hex(4)}@m>"))
             .split("https://portal.test", 1)[1] for n in range(2)]
    provider = {"REMOTE_ADDR": _ip()}  # a mailbox provider: every one-click from one address
    with other_app(app, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=redis_url,
                   PORTAL_UNSUBSCRIBE_TOKEN_LIMIT="2 per hour") as limited:
        client = limited.test_client()
        first = [client.post(paths[0], environ_base=provider).status_code for _ in range(3)]
        second = client.post(paths[1], environ_base=provider).status_code
    assert first == [200, 200, 429] and second == 200


def test_two_processes_share_one_limit_through_redis(app, redis_url, create_subscription, backend):
    """Two gunicorn processes, one Redis: the per-link limit of 3 is reached across both."""
    subscription = create_subscription()
    target = links.Target(subscription.contact_id, subscription.list_id, f"<{secrets.token_hex(8)}@m>")
    path = links.unsubscribe_url(target).split("https://portal.test", 1)[1]
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    env = {"RATELIMIT_STORAGE_URI": redis_url, "PORTAL_UNSUBSCRIBE_TOKEN_LIMIT": "3 per hour", **ledger_env(app)}
    with LiveServer(url, **env) as one, LiveServer(url, **env) as two:
        codes = [requests.post(server.url + path, data={"List-Unsubscribe": "One-Click"}, timeout=60).status_code
                 for server in (one, two, one, two)]
    assert codes == [200, 200, 200, 429]
