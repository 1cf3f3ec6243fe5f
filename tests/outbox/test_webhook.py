"""Webhook messages: POSTed to a real HTTP server on loopback; 2xx sent, else retried then failed."""
from __future__ import annotations

from datetime import timedelta

import pytest

from portal.db import utcnow
from portal.extensions import db
from portal.outbox import worker
from portal.outbox.models import OutboxMessage, OutboxStatus
from tests.conftest import free_port


def _webhook(url: str) -> OutboxMessage:
    message = OutboxMessage(channel="webhook", kind="confirmed", recipient=url,
                            payload={"body": '{"event":"confirmed"}',
                                     "headers": {"Content-Type": "application/json", "X-Portal-Signature": "sig"}})
    db.session.add(message)
    db.session.commit()
    return message


def test_2xx_is_sent_with_body_and_headers(app, http_endpoint):
    message = _webhook(f"http://127.0.0.1:{http_endpoint.server_port}/hook")
    assert worker.run_once().sent == [message.id]
    path, headers, body = http_endpoint.received[0]
    assert (path, body) == ("/hook", b'{"event":"confirmed"}')
    assert headers["X-Portal-Signature"] == "sig" and headers["Content-Type"] == "application/json"
    assert db.session.get(OutboxMessage, message.id).status == OutboxStatus.SENT


@pytest.mark.parametrize("status", [500, 404, 302])
def test_non_2xx_is_retried_then_sent(app, http_endpoint, status):
    http_endpoint.statuses = [status]
    message = _webhook(f"http://127.0.0.1:{http_endpoint.server_port}/hook")
    assert worker.run_once().retried == [message.id]
    assert worker.run_once(now=utcnow() + timedelta(hours=1)).sent == [message.id]
    assert len(http_endpoint.received) == 2


def test_timeout_and_refused_are_failures_until_the_last_attempt(app, http_endpoint):
    # The slow endpoint answers after 1.5 s; a prompt one within this even on a loaded machine.
    app.config.update(PORTAL_WEBHOOK_TIMEOUT_SECONDS=1.0, PORTAL_OUTBOX_MAX_ATTEMPTS=2)
    http_endpoint.statuses = ["slow"]
    slow = _webhook(f"http://127.0.0.1:{http_endpoint.server_port}/hook")
    assert worker.run_once().retried == [slow.id]
    closed = _webhook(f"http://127.0.0.1:{free_port()}/hook")
    later = utcnow() + timedelta(hours=1)
    report = worker.run_once(now=later)
    assert closed.id in report.retried and slow.id in report.sent
    assert worker.run_once(now=later + timedelta(hours=1)).failed == [closed.id]
    assert db.session.get(OutboxMessage, closed.id).status == OutboxStatus.FAILED
