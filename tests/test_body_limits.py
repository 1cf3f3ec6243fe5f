"""Per-route body limits: checked before anything reads the body (not a hook, not a rate-limit key,
not the view), answered 413 with the API's JSON error or a friendly page."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from portal import links
from portal.subscriptions.models import Contact

MIB = 1024 * 1024


class CountingInput(io.RawIOBase):
    """A request body of ``size`` bytes of ``fill`` that counts what the server read of it."""

    def __init__(self, size: int, fill: bytes = b"a"):
        self.size, self.fill, self.read_bytes = size, fill, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = self.fill * n
        self.read_bytes += n
        return n


def _post(client, path, size, content_type="application/json", chunked=False, headers=None):
    body = CountingInput(size)
    environ = {"wsgi.input": body, "CONTENT_TYPE": content_type}
    if chunked:
        environ.update({"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    else:
        environ["CONTENT_LENGTH"] = str(size)
    response = client.post(path, environ_overrides=environ, headers=headers or {})
    return response, body


@pytest.fixture
def limited(app):
    """The real rate limiter on, so that the signup's per-address key would run."""
    app.config["RATELIMIT_ENABLED"] = True
    from portal.extensions import limiter

    limiter.enabled = True
    yield
    limiter.enabled = False


def test_a_56_mib_signup_is_413_before_a_byte_is_read(client, db, create_form, limited):
    form = create_form()
    response, body = _post(client, f"/f/{form.id}", 56 * MIB)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert body.read_bytes == 0  # neither the rate-limit key nor the view parsed it
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_a_chunked_signup_is_cut_off_at_the_limit(client, app, create_form):
    form = create_form()
    response, body = _post(client, f"/f/{form.id}", 56 * MIB, "application/x-www-form-urlencoded", chunked=True)
    assert response.status_code == 413
    assert body.read_bytes <= app.config["PORTAL_PAGE_MAX_BYTES"] + 64 * 1024


def test_a_signup_of_legal_size_still_works(client, create_form):
    form = create_form()
    response = client.post(f"/f/{form.id}", json={"email": "rina@example.org", "name": "R" * 200})
    assert response.status_code == 202


@pytest.fixture
def unsubscribe_token(create_subscription):
    subscription = create_subscription()
    return links.target_token("unsubscribe", links.Target(subscription.contact_id, subscription.list_id, None))


@pytest.mark.parametrize("route", ["/unsubscribe/{token}", "/unsubscribe/{token}/reason", "/complaint/{token}",
                                   "/preferences/{token}", "/preferences/{token}/erase", "/confirm/{token}"])
def test_pages_answer_413_with_a_friendly_page(client, unsubscribe_token, route):
    response, body = _post(client, route.format(token=unsubscribe_token), 60 * MIB,
                           "application/x-www-form-urlencoded", headers={"Accept": "text/html"})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "What you sent is larger than this page accepts" in page
    assert body.read_bytes == 0


def test_one_click_of_ordinary_size_is_not_refused(client, unsubscribe_token):
    response = client.post(f"/unsubscribe/{unsubscribe_token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200


@pytest.mark.parametrize("route,setting", [
    ("/api/v1/accounts/{account}/send-check", "PORTAL_API_BATCH_MAX_BYTES"),
    ("/api/v1/accounts/{account}/unsubscribe-links", "PORTAL_API_BATCH_MAX_BYTES"),
    ("/api/v1/accounts/{account}/messages/check", "PORTAL_MESSAGE_CHECK_MAX_BYTES"),
    ("/api/v1/accounts/{account}/webhooks", "PORTAL_API_MAX_BYTES"),
    ("/api/v1/accounts", "PORTAL_API_MAX_BYTES"),
    ("/api/v1/feedback/arf", "PORTAL_FEEDBACK_MAX_BYTES"),
])
def test_api_routes_answer_413_in_the_json_shape(client, app, create_account, platform_auth, route, setting):
    account = create_account()
    limit = app.config[setting]
    response, body = _post(client, route.format(account=account.id), limit + 1, headers=platform_auth)
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and error["details"] == {"max_bytes": limit}
    assert body.read_bytes == 0


def test_limits_follow_the_config(client, app, create_account, platform_auth):
    app.config["PORTAL_MESSAGE_CHECK_MAX_BYTES"] = 2048
    account = create_account()
    response, _ = _post(client, f"/api/v1/accounts/{account.id}/messages/check", 2049, headers=platform_auth)
    assert response.get_json()["error"]["details"] == {"max_bytes": 2048}


def test_the_batch_limit_holds_the_largest_legal_batch(app):
    """10,000 recipients of the longest legal address and message id fit the batch limit."""
    recipient = {"email": "a" * 64 + "@" + "b" * 255, "list_id": "L" * 32, "message_id": "m" * 998}
    body = json.dumps({"list_id": "L" * 32, "recipients": [recipient] * 10_000})
    assert len(body) < app.config["PORTAL_API_BATCH_MAX_BYTES"]
    assert 16 * 1024 < app.config["PORTAL_PAGE_MAX_BYTES"] * 4 <= 64 * 1024 * 4  # pages: a few KiB, 64 KiB at most
    assert app.config["PORTAL_PAGE_MAX_BYTES"] <= 64 * 1024


def test_the_413_page_speaks_the_subscribers_language(client, unsubscribe_token):
    response, _ = _post(client, f"/unsubscribe/{unsubscribe_token}?lang=id", 60 * MIB,
                        "application/x-www-form-urlencoded", headers={"Accept": "text/html"})
    assert response.status_code == 413
    assert "Yang Anda kirim melebihi batas yang diterima halaman ini" in response.get_data(as_text=True)
