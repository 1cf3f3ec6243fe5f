"""Per-route body limits: checked before anything reads the body (not a hook, not a rate-limit key,
not the view), answered 413 with the API's JSON error or a friendly page."""
from __future__ import annotations

import io
import os
import socket
import threading
import json

import pytest
from sqlalchemy import func, select

from portal import links
from portal.limits import ENDPOINT_LIMITS
from portal.subscriptions.models import Contact
from tests.pagetools import refusal

MIB = 1024 * 1024


class CountingInput(io.RawIOBase):
    """A request body of ``size`` bytes (``prefix``, then ``fill``) that counts what the server read of it."""

    def __init__(self, size: int, fill: bytes = b"a", prefix: bytes = b""):
        self.size, self.fill, self.prefix, self.read_bytes = size, fill, prefix, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.read_bytes)
        head = self.prefix[self.read_bytes:self.read_bytes + n]
        buffer[:n] = head + self.fill * (n - len(head))
        self.read_bytes += n
        return n


def _post(client, path, size, content_type="application/json", chunked=False, headers=None, prefix=b""):
    body = CountingInput(size, prefix=prefix)
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
                                   "/preferences/{token}", "/preferences/{token}/erase", "/confirm/{token}",
                                   "/manage"])
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


#: A character of 4 octets: a 12-byte surrogate-pair escape in the ASCII-only JSON most encoders
#: write by default (Python's json.dumps among them), the most bytes one character can cost.
ASTRAL = "\U00020000"
#: The largest address field: 320 octets (what the batch routes that report addresses one by one
#: take, and answer "invalid"); and the largest valid address found (the links route refuses others).
LARGEST_ADDRESS = ASTRAL * 80
LARGEST_VALID_ADDRESS = "\U0001F600" * 16 + "@" + ".".join([ASTRAL * 23] * 2) + ".cn"
LARGEST_MESSAGE_ID = "<" + "m" * 480 + "@platform.example>"
LONGEST_TIME = "2026-01-31T23:59:59." + "9" * 14 + "+14:00"  # 40 characters, the cap


def _largest_batches(list_id: str) -> dict[str, dict]:
    """The largest legal body of each batch route: 10,000 items, every field at its cap."""
    many = 10_000
    return {
        "api.preferences_unsubscribe_links": {"list_id": list_id, "recipients": [
            {"email": LARGEST_VALID_ADDRESS, "message_id": LARGEST_MESSAGE_ID}] * many},
        "api.suppression_check": {"emails": [LARGEST_ADDRESS] * many},
        "api.suppression_send_check": {"list_id": list_id, "emails": [LARGEST_ADDRESS] * many},
        "api.suppression_bulk": {"entries": [{"email": LARGEST_ADDRESS, "reason": "role_address",
                                              "list_id": list_id}] * many},
        "api.suppression_report_deliveries": {"events": [{"email": LARGEST_ADDRESS, "type": "soft_bounce",
                                                          "at": LONGEST_TIME, "message_id": LARGEST_MESSAGE_ID}] * many},
    }


def test_the_batch_limit_holds_the_largest_legal_batch_of_every_batch_route(app):
    """Every field at its cap in its costliest characters, written as ASCII-only, indented JSON: each
    body is valid for its route's schema, and fits the batch limit (the inbound mail route takes one
    mail, not a batch)."""
    from portal import api

    limit = app.config["PORTAL_API_BATCH_MAX_BYTES"]
    batch_routes = {endpoint for endpoint, key in ENDPOINT_LIMITS.items() if key == "PORTAL_API_BATCH_MAX_BYTES"}
    bodies = _largest_batches(ASTRAL * 32)
    assert set(bodies) == batch_routes - {"api.preferences_inbound_unsubscribe"}
    for endpoint, body in bodies.items():
        rule = next(app.url_map.iter_rules(endpoint))
        model = next(op.body for op in api.OPERATIONS if "/api/v1" + op.rule == rule.rule and op.method == "POST")
        written = json.dumps(body, indent=2)
        model.model_validate_json(written)  # legal, every cap reached
        assert len(written.encode()) <= limit, (endpoint, len(written))
    assert len(json.dumps(LARGEST_VALID_ADDRESS)) > 740  # the address really is one of the costliest
    assert 16 * 1024 < app.config["PORTAL_PAGE_MAX_BYTES"] * 4 <= 64 * 1024 * 4  # pages: a few KiB, 64 KiB at most
    assert app.config["PORTAL_PAGE_MAX_BYTES"] <= 64 * 1024


@pytest.mark.parametrize("endpoint", sorted(_largest_batches("x")))
def test_the_largest_legal_batch_is_answered(client, create_list, platform_auth, endpoint):
    """Sent for real, each largest batch passes the limit and the schema and is answered (addresses too
    long to be addresses one by one, as the route does). The links route's batch names a list of no
    one: it is answered 404 once read and validated, not after normalising 10,000 addresses of
    astral characters (IDNA takes 4 ms each: that cost is the route's, not the limit's)."""
    from flask import current_app

    mailing_list = create_list()
    links_route = endpoint == "api.preferences_unsubscribe_links"
    body = _largest_batches("f" * 24 if links_route else mailing_list.id)[endpoint]
    path = next(current_app.url_map.iter_rules(endpoint)).rule.replace("<account_id>", mailing_list.account_id)
    response = client.post(path, data=json.dumps(body, indent=2), content_type="application/json",
                           headers=platform_auth)
    if links_route:
        assert refusal(response) == (404, "not_found") and response.get_json()["error"]["message"] == "No such list."
    else:
        assert response.status_code in {200, 202}, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("field, value, reason", [
    ("email", ASTRAL * 80 + "a", "at most 320 octets of UTF-8"),
    ("email", "ann\x01@example.org", "should match pattern"),
    ("message_id", "<\u00e9t\u00e9@platform.example>", "should match pattern"),
    ("message_id", "<" + "m" * 500 + ">", "at most 500 characters"),
])
def test_batch_fields_past_their_caps_are_refused_naming_the_field(client, create_list, platform_auth,
                                                                    field, value, reason):
    mailing_list = create_list()
    recipient = {"email": "ann@example.org", "message_id": "<m@platform.example>", field: value}
    response = client.post(f"/api/v1/accounts/{mailing_list.account_id}/unsubscribe-links", headers=platform_auth,
                           json={"list_id": mailing_list.id, "recipients": [recipient]})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and error["details"][0]["loc"] == ["recipients", 0, field]
    assert reason in error["details"][0]["msg"]


def test_the_message_check_caps_apply_within_its_limit(client, app, create_account, platform_auth):
    """Both parts at their cap, with headers, fit the route's limit and are checked; a character
    more is a 422 naming the part, not a 413: each cap can apply. A header value has a cap too."""
    from portal.preferences.schemas import MAX_HEADER_VALUE, MAX_PART

    account = create_account()
    url = f"/api/v1/accounts/{account.id}/messages/check"
    headers = {f"X-Header-{i}": "v" * 900 for i in range(100)}
    body = {"html": "<p>" + "a" * (MAX_PART - 7) + "</p>", "text": "a" * MAX_PART, "headers": headers}
    written = json.dumps(body)
    assert len(written) <= app.config["PORTAL_MESSAGE_CHECK_MAX_BYTES"]
    assert client.post(url, data=written, content_type="application/json", headers=platform_auth).status_code == 200
    for field, value in (("text", "a" * (MAX_PART + 1)), ("html", "a" * (MAX_PART + 1))):
        response = client.post(url, json={**body, field: value}, headers=platform_auth)
        assert response.status_code == 422
        assert response.get_json()["error"]["details"][0]["loc"] == [field]
    response = client.post(url, json={"headers": {"List-Unsubscribe": "x" * (MAX_HEADER_VALUE + 1)}},
                           headers=platform_auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["loc"][:2] == ["headers", "List-Unsubscribe"]


def test_the_413_page_speaks_the_subscribers_language(client, unsubscribe_token):
    response, _ = _post(client, f"/unsubscribe/{unsubscribe_token}?lang=id", 60 * MIB,
                        "application/x-www-form-urlencoded", headers={"Accept": "text/html"})
    assert response.status_code == 413
    assert "Yang Anda kirim melebihi batas yang diterima halaman ini" in response.get_data(as_text=True)


# --- bodies of undeclared length (chunked) on the routes of large limits ----------------------------

#: A multipart start, so that the imports route's parser reads on into the file part.
MULTIPART_START = (b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
                   b"Content-Type: text/csv\r\n\r\nemail\r\n")


def _large_route(app, endpoint: str, mailing_list) -> tuple[str, str, bytes]:
    """The path, media type and body start of the API route behind ``endpoint``."""
    from portal.api import OPERATIONS

    rule = next(app.url_map.iter_rules(endpoint))
    operation = next(op for op in OPERATIONS if "/api/v1" + op.rule == rule.rule and op.method in rule.methods)
    path = rule.rule.replace("<account_id>", mailing_list.account_id).replace("<list_id>", mailing_list.id)
    media = operation.raw_body or "application/json"
    if media == "multipart/form-data":
        return path, media + "; boundary=x", MULTIPART_START
    return path, media, b'{"recipients": [' if media == "application/json" else b"From: a@example.org\r\n"


@pytest.mark.parametrize("endpoint", sorted(ENDPOINT_LIMITS))
def test_a_chunked_body_is_not_read_before_the_key_is_checked(client, app, create_list, endpoint):
    """No key: 401 before a byte of the body is read, however much is on its way (imports: past 1 GiB)."""
    path, media, start = _large_route(app, endpoint, create_list())
    size = int(app.config[ENDPOINT_LIMITS[endpoint]]) + MIB
    response, body = _post(client, path, size, media, chunked=True, prefix=start)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert body.read_bytes == 0


@pytest.mark.parametrize("endpoint", sorted(ENDPOINT_LIMITS))
def test_a_chunked_body_past_the_limit_is_413_one_byte_past_it(client, app, db, create_list, platform_auth,
                                                                 endpoint):
    """With a key: read as the route needs it, never more than one byte past the limit, then 413."""
    from tests.reliability.support import row_counts

    limit = 64 * 1024
    app.config[ENDPOINT_LIMITS[endpoint]] = limit
    path, media, start = _large_route(app, endpoint, create_list())
    before = row_counts()
    response, body = _post(client, path, 50 * MIB, media, chunked=True, headers=platform_auth, prefix=start)
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and error["details"] == {"max_bytes": limit}
    assert limit <= body.read_bytes <= limit + 1  # read to the limit, never buffered past it
    assert row_counts() == before


def test_a_chunked_body_of_exactly_the_limit_is_read_whole(client, app, create_list, platform_auth):
    """The limit is inclusive and the body reaches the view whole (never silently cut at the limit)."""
    mailing_list = create_list()
    limit = 4096
    app.config["PORTAL_API_BATCH_MAX_BYTES"] = limit
    start = b'{"emails": ["ann@example.org"'
    end = b'], "list_id": "%s"}' % mailing_list.id.encode()
    for size, expected in ((limit, 200), (limit + 1, 413)):
        padded = start + b" " * (size - len(start) - len(end)) + end
        response = client.post(f"/api/v1/accounts/{mailing_list.account_id}/send-check", headers=platform_auth,
                               input_stream=io.BytesIO(padded), content_type="application/json",
                               environ_overrides={"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
        assert response.status_code == expected, response.get_data(as_text=True)
    assert response.get_json()["error"]["details"] == {"max_bytes": limit}


# --- the same against real gunicorn: the worker's memory does not grow ------------------------------

def _worker_pid(server) -> int:
    """The pid of the one gunicorn worker of ``server`` (its master's child)."""
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == server.process.pid:
            return int(entry)
    raise AssertionError("gunicorn has no worker")


def _memory_mib(pid: int) -> dict[str, float]:
    """The process's resident memory now (VmRSS) and at its peak (VmHWM), in MiB."""
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if line.startswith(("VmRSS", "VmHWM")))
    return {name: int(value.split()[0]) / 1024 for name, value in fields.items()}


def _chunked_post(port: int, path: str, total: int, headers: str = "", media: str = "multipart/form-data; boundary=x",
                  start: bytes = MULTIPART_START) -> tuple[bytes, int]:
    """POST ``start`` then ``total`` bytes in 1 MiB chunks, reading the answer as it comes; the answer and
    the bytes sent before the server stopped reading (it may answer and close long before the end)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    answer = bytearray()

    def read() -> None:
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            answer.extend(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    block = b"%x\r\n" % MIB + b"a" * MIB + b"\r\n"
    sent = 0
    try:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {media}\r\n"
                     f"Transfer-Encoding: chunked\r\nConnection: close\r\n{headers}\r\n".encode())
        sock.sendall(b"%x\r\n" % len(start) + start + b"\r\n")
        while sent < total:
            sock.sendall(block)
            sent += MIB
        sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server answered and closed the connection: the rest is never sent
    reader.join(60)
    sock.close()
    return bytes(answer), sent


def test_gunicorn_answers_300_mib_chunked_bodies_without_the_worker_growing(app, db, create_list, platform_auth):
    """An import without a key: 401 before the body is read (imports take up to 1 GiB: the worker once
    buffered it all, growing by 600 MB). A feedback report with a key: read to its 10 MiB, then 413."""
    from tests.reliability.support import LiveServer

    mailing_list = create_list()
    imports = f"/api/v1/accounts/{mailing_list.account_id}/lists/{mailing_list.id}/imports"
    key = f"Authorization: {platform_auth['Authorization']}\r\n"
    report = ("message/rfc822", b"From: a@example.org\r\n")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    with LiveServer(url) as server:
        worker = _worker_pid(server)
        _chunked_post(server.port, imports, MIB)  # warm: the worker's first answers load what they need
        _chunked_post(server.port, "/api/v1/feedback/arf", MIB, key, *report)
        before = _memory_mib(worker)
        anonymous, _ = _chunked_post(server.port, imports, 300 * MIB)
        between = _memory_mib(worker)
        keyed, sent = _chunked_post(server.port, "/api/v1/feedback/arf", 300 * MIB, key, *report)
        after = _memory_mib(worker)
    assert anonymous.startswith(b"HTTP/1.1 401 ") and b'"code":"unauthorized"' in anonymous
    limit = app.config["PORTAL_FEEDBACK_MAX_BYTES"]
    assert keyed.startswith(b"HTTP/1.1 413 ") and b'"code":"payload_too_large"' in keyed
    assert b'"max_bytes":%d' % limit in keyed and sent < 300 * MIB
    print("worker memory (MiB):", before, between, after)
    assert between["VmHWM"] - before["VmHWM"] < 16, (before, between)  # nothing of the import was read
    # The report is read whole, as its parser needs: its bytes and a copy, never the 300 MiB sent.
    assert after["VmHWM"] - before["VmHWM"] < 3 * limit / MIB + 16, (before, after)
