"""Webhook messages: POSTed to a real HTTP server on loopback; 2xx sent, else retried then failed."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal.db import utcnow
from portal.extensions import db
from portal.outbox import worker
from portal.outbox.models import OutboxMessage, OutboxStatus
from tests.conftest import free_port


class Endpoint(BaseHTTPRequestHandler):
    """Answers each POST with the next status of ``server.statuses`` and keeps what it got."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, dict(self.headers), body))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        if status == "slow":
            time.sleep(1.5)
            status = 200
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    server.received, server.statuses = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _webhook(url: str) -> OutboxMessage:
    message = OutboxMessage(channel="webhook", kind="confirmed", recipient=url,
                            payload={"body": '{"event":"confirmed"}',
                                     "headers": {"Content-Type": "application/json", "X-Portal-Signature": "sig"}})
    db.session.add(message)
    db.session.commit()
    return message


def test_2xx_is_sent_with_body_and_headers(app, endpoint):
    message = _webhook(f"http://127.0.0.1:{endpoint.server_port}/hook")
    assert worker.run_once().sent == [message.id]
    path, headers, body = endpoint.received[0]
    assert (path, body) == ("/hook", b'{"event":"confirmed"}')
    assert headers["X-Portal-Signature"] == "sig" and headers["Content-Type"] == "application/json"
    assert db.session.get(OutboxMessage, message.id).status == OutboxStatus.SENT


@pytest.mark.parametrize("status", [500, 404, 302])
def test_non_2xx_is_retried_then_sent(app, endpoint, status):
    endpoint.statuses = [status]
    message = _webhook(f"http://127.0.0.1:{endpoint.server_port}/hook")
    assert worker.run_once().retried == [message.id]
    assert worker.run_once(now=utcnow() + timedelta(hours=1)).sent == [message.id]
    assert len(endpoint.received) == 2


def test_timeout_and_refused_are_failures_until_the_last_attempt(app, endpoint):
    app.config.update(PORTAL_WEBHOOK_TIMEOUT_SECONDS=0.3, PORTAL_OUTBOX_MAX_ATTEMPTS=2)
    endpoint.statuses = ["slow"]
    slow = _webhook(f"http://127.0.0.1:{endpoint.server_port}/hook")
    assert worker.run_once().retried == [slow.id]
    closed = _webhook(f"http://127.0.0.1:{free_port()}/hook")
    later = utcnow() + timedelta(hours=1)
    report = worker.run_once(now=later)
    assert closed.id in report.retried and slow.id in report.sent
    assert worker.run_once(now=later + timedelta(hours=1)).failed == [closed.id]
    assert db.session.get(OutboxMessage, closed.id).status == OutboxStatus.FAILED
