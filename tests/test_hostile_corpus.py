"""The hostile-input corpus: every public route and every API route (walked from the URL map,
so a new route is covered without being listed) gets oversized, deeply nested, NUL, invalid UTF-8,
CRLF and odd-Unicode input and huge headers. Each answer is a 4xx, no table changes, and no
request takes long: each is bounded by a benign request to the same route in the same run."""
from __future__ import annotations

import re
import time

import pytest

from tests.reliability.support import row_counts
from tests.test_body_limits import CountingInput

HOSTILE_SEGMENTS = ["%00", "a%0d%0aSet-Cookie:%20x=1", "%ff%fe%fd", "\u202egnp.exe", "\ufeff\u200b",
                    "ｆｕｌｌ", "e\u0301\u0301\u0301", "%F0%9F%92%A9", "A" * 3000, "..%2f..%2fetc%2fpasswd", "'\"<x>"]
DEEP = b"[" * 6000 + b"]" * 6000
BODIES = [
    ("deep JSON", DEEP, "application/json"),
    ("deep object", b'{"a":' * 3000 + b"1" + b"}" * 3000, "application/json"),
    ("invalid UTF-8 JSON", b'{"email": "\xff\xfe@example.org", "name": "\xc3\x28"}', "application/json"),
    ("NUL in JSON", b'{"email": "a\\u0000@example.org", "name": "\\u0000", "url": "\\u0000"}', "application/json"),
    ("lone surrogate", b'{"email": "\\ud800@example.org", "name": "\\udfff"}', "application/json"),
    ("CRLF in form", b"email=a%40example.org%0d%0aBcc%3a%20x%40evil.example&name=x%0d%0aX: y", "application/x-www-form-urlencoded"),
    ("NUL in form", b"email=a%00%40example.org&name=%00", "application/x-www-form-urlencoded"),
    ("invalid UTF-8 form", b"email=%ff%fe%40example.org&name=%c3%28", "application/x-www-form-urlencoded"),
    ("odd Unicode", '{"email": "\u202eevil@example.org", "name": "\u0000\ufeff"}'.encode(), "application/json"),
    ("not JSON", b"{'email': ", "application/json"),
    ("XML", b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>", "application/xml"),
]
HUGE_HEADERS = {"User-Agent": "U" * 60_000, "Accept-Language": ",".join(["x-" + "a" * 8] * 3000),
                "X-Forwarded-For": ", ".join(["10.0.0.1"] * 3000), "Cookie": "session=" + "c" * 30_000}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "health.healthz", "api.openapi_json"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _fill(rule, values: dict, hostile: str | None = None) -> str:
    """The rule's path with each argument given (or all replaced by ``hostile``)."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: hostile if hostile is not None else values[m.group(1)],
                  rule.rule)


@pytest.fixture
def world(app, create_form, create_subscription, platform_auth):
    form = create_form()
    subscription = create_subscription(mailing_list=form.lists[0])
    return {"form_id": form.id, "account_id": form.account_id, "list_id": form.lists[0].id,
            "token": "x.y", "import_id": "nope", "webhook_id": "nope", "email": "ann@example.org",
            "name": "swagger-ui.css",
            "auth": platform_auth, "subscription": subscription}


def _timed(client, path, method, **kwargs):
    started = time.perf_counter()
    response = client.open(path, method=method, **kwargs)
    response.get_data()
    return response, time.perf_counter() - started


def test_every_route_refuses_the_corpus_changes_nothing_and_answers_quickly(app, client, world):
    before = row_counts()
    failures, count = [], 0
    for rule, method in _routes(app):
        api = rule.rule.startswith("/api/")
        headers = world["auth"] if api else {}
        real = _fill(rule, world)
        _, baseline = _timed(client, _fill(rule, world, "nope"), method, headers=headers)
        bound = 20 * baseline + 0.5

        # A route with no argument has nothing to refuse in its path: hostile queries and headers
        # must still never give a 5xx. The console sends a visitor without a session to sign in.
        refusal = range(300, 500) if rule.endpoint.startswith("ops.") else range(400, 500)
        lenient = range(200, 500) if not rule.arguments else refusal

        def check(label, path, expect=refusal, **kwargs):
            nonlocal count
            count += 1
            response, elapsed = _timed(client, path, method, **kwargs)
            if response.status_code not in expect:
                failures.append(f"{method} {rule.rule} {label}: {response.status_code} {response.get_data()[:100]!r}")
            if elapsed > bound:
                failures.append(f"{method} {rule.rule} {label}: {elapsed:.2f}s > {bound:.2f}s")

        for segment in HOSTILE_SEGMENTS if rule.arguments else ():
            check(f"path {segment[:12]!r}", _fill(rule, world, segment), headers=headers)
        check("NUL in query", _fill(rule, world, "nope") + "?lang=%00&cursor=%00&limit=%00&email=%00",
              expect=lenient, headers=headers)
        check("huge headers", _fill(rule, world, "nope"), expect=lenient, headers={**headers, **HUGE_HEADERS})
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            target = real if (api or rule.endpoint.startswith("subscriptions.signup")) else _fill(rule, world, "x.y")
            for label, body, content_type in BODIES:
                check(label, target, data=body, content_type=content_type, headers=headers)
            oversized = CountingInput(2 * 1024 ** 3)  # past every route's limit, imports' 1 GiB included
            check("2 GiB body", target, expect={413}, headers=headers,
                  environ_overrides={"wsgi.input": oversized, "CONTENT_LENGTH": str(oversized.size),
                                     "CONTENT_TYPE": "application/json"})
            if oversized.read_bytes:
                failures.append(f"{method} {rule.rule}: read {oversized.read_bytes} bytes of an oversized body")
    assert failures == []
    assert count > 500
    assert row_counts() == before
