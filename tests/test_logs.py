"""Logs: link tokens masked everywhere, request ids sent back, JSON lines with PORTAL_LOG_FORMAT=json."""
import io
import json
import logging
import urllib.error
import urllib.request

import pytest

from portal import links
from portal.logs import JsonFormatter, MaskingFilter, mask
from portal.receipts.operations import receipt_token

TOKEN = "WzMsIkwiLCI8bTFAeD4iXQ.aw8lYw.IrW_ktrdwBg-W1AXBXVbdlCO_fk"


@pytest.mark.parametrize("text, expected", [
    (f"GET /unsubscribe/{TOKEN} HTTP/1.1", "GET /unsubscribe/*** HTTP/1.1"),
    (f"POST /unsubscribe/{TOKEN}/undo?lang=id", "POST /unsubscribe/***/undo?lang=id"),
    (f"https://portal.example/preferences/{TOKEN}/data", "https://portal.example/preferences/***/data"),
    (f"/confirm/{TOKEN} /erase/{TOKEN} /complaint/{TOKEN}", "/confirm/*** /erase/*** /complaint/***"),
    ("mailto:unsubscribe+abc234xyz@mail.example", "mailto:unsubscribe+***@mail.example"),
    ("?recipient=unsubscribe%2Babc234xyz%40mail.example", "?recipient=unsubscribe%2B***%40mail.example"),
    ("GET /f/5f0c2a9d8e7b6a5c4d3e2f10 HTTP/1.1", "GET /f/5f0c2a9d8e7b6a5c4d3e2f10 HTTP/1.1"),
    ("GET /api/v1/accounts HTTP/1.1", "GET /api/v1/accounts HTTP/1.1"),
    (f"GET /receipts/{TOKEN} HTTP/1.1", "GET /receipts/*** HTTP/1.1"),
    (f"GET /receipts/{TOKEN}.json HTTP/1.1", "GET /receipts/*** HTTP/1.1"),
    (f"GET /preferences/{TOKEN}/receipt HTTP/1.1", "GET /preferences/***/receipt HTTP/1.1"),
])
def test_mask_replaces_link_tokens_only(app, text, expected):
    """The token routes are the app's rules with a <token> argument (learnt as the app was built)."""
    assert mask(text) == expected


def test_the_development_servers_request_lines_are_masked():
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - [%s] "%s" %s -',
                               ("127.0.0.1", "now", f"GET /confirm/{TOKEN} HTTP/1.1", "200"), None)
    assert MaskingFilter().filter(record) is True
    assert record.getMessage() == '127.0.0.1 - - [now] "GET /confirm/*** HTTP/1.1" 200 -'


def test_every_answer_carries_a_request_id(client, create_account, platform_auth):
    account = create_account()
    answers = [client.get("/"), client.get("/no/such/page"), client.get("/api/v1/accounts", headers=platform_auth),
               client.get(f"/api/v1/accounts/{account.id}/suppressions/ann@example.org", headers=platform_auth)]
    ids = [answer.headers["X-Request-ID"] for answer in answers]
    assert all(len(value) == 32 for value in ids) and len(set(ids)) == len(ids)


def test_a_proxys_request_id_is_kept_and_a_bad_one_replaced(client):
    assert client.get("/", headers={"X-Request-ID": "lb-7f3a.19"}).headers["X-Request-ID"] == "lb-7f3a.19"
    for bad in ("bad id with spaces", "x" * 129, "<script>"):
        replaced = client.get("/", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert replaced != bad and len(replaced) == 32


@pytest.fixture
def json_log(app):
    """The JSON lines written by the root logger's JSON handler during the test."""
    from portal.logs import configure_json_logging

    handler = configure_json_logging()
    stream = io.StringIO()
    old = handler.setStream(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    handler.setStream(old)
    logging.getLogger().removeHandler(handler)


@pytest.mark.app_config(PORTAL_LOG_FORMAT="json")
def test_json_lines_carry_the_request_id_and_never_a_token(client, create_subscription, json_log, app):
    subscription = create_subscription()
    path = links.unsubscribe_url(links.Target(subscription.contact_id, subscription.list_id, "<m@x>"))
    path = path.replace("https://portal.test", "")
    token = path.split("/")[2]
    answer = client.get(path)
    with app.test_request_context(path):
        app.logger.warning("something about %s", path)
    lines = json_log()
    request_line = next(line for line in lines if line["logger"] == "portal.request")
    assert request_line["request_id"] == answer.headers["X-Request-ID"]
    assert request_line["http"]["path"] == "/unsubscribe/***" and request_line["http"]["status"] == 200
    assert request_line["http"]["route"] == "/unsubscribe/<token>" and request_line["level"] == "info"
    warning = next(line for line in lines if line["level"] == "warning")
    assert warning["message"] == "something about /unsubscribe/***"
    assert all(token not in json.dumps(line) for line in lines)


def test_json_formatter_masks_exceptions_and_keeps_one_line():
    try:
        raise ValueError(f"bad /preferences/{TOKEN}")
    except ValueError:
        import sys

        record = logging.LogRecord("portal", logging.ERROR, __file__, 1, "failed\non two lines", (), sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line and TOKEN not in line
    entry = json.loads(line)
    assert entry["message"] == "failed\non two lines" and "/preferences/***" in entry["exception"]


def test_gunicorns_access_log_masks_tokens_and_writes_json(app, db, tmp_path, create_subscription, monkeypatch):
    from tests.conftest import ledger_env
    from tests.reliability.support import LiveServer

    subscription = create_subscription()
    path = links.unsubscribe_url(links.Target(subscription.contact_id, subscription.list_id, "<m@x>"))
    path = path.replace("https://portal.test", "")
    token = path.split("/")[2]
    for key, value in ledger_env(app).items():  # the server's ledger keys are the test's (its environment)
        monkeypatch.setenv(key, value)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    access = tmp_path / "access.log"
    receipt = receipt_token(subscription.contact_id)
    server = LiveServer(url, log_level="info", log_path=tmp_path / "error.log", PORTAL_LOG_FORMAT="json")
    server.args[-1:-1] = ["--access-logfile", str(access)]
    request_ids = []
    with server:
        for each in (path, f"/receipts/{receipt}", f"/receipts/{receipt}.json", f"/receipts/{receipt}x/y"):
            try:
                with urllib.request.urlopen(server.url + each, timeout=10) as answer:
                    request_ids.append(answer.headers["X-Request-ID"])
            except urllib.error.HTTPError as error:  # the mistyped path: 404
                request_ids.append(error.headers["X-Request-ID"])
    lines = [json.loads(line) for line in access.read_text().splitlines() if "/healthz" not in line]
    assert any(f"/unsubscribe/*** " in line["message"] for line in lines)
    assert sum(f"/receipts/*** " in line["message"] for line in lines) == 2
    assert any(f"/receipts/***/y " in line["message"] for line in lines)
    for secret in (token, receipt):
        assert secret not in access.read_text() and secret not in (tmp_path / "error.log").read_text()
    # Each access line carries the request id of its answer, as the app's own request line does.
    assert [line.get("request_id") for line in lines] == request_ids
    app_lines = [json.loads(line) for line in (tmp_path / "error.log").read_text().splitlines() if line.startswith("{")]
    assert [line.get("request_id") for line in app_lines
            if line["logger"] == "portal.request" and line["http"]["path"] != "/healthz"] == request_ids
