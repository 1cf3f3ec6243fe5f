"""SMTP down, stalled or dropping: no mail lost, none doubled, the worker never hangs,
and the request path never talks SMTP."""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from portal.db import utcnow
from portal.extensions import db
from portal.outbox import worker
from portal.outbox.models import OutboxMessage, OutboxStatus
from tests.conftest import free_port, other_app
from tests.reliability.support import FaultServer, SlowSink
from tests.subscriptions.helpers import signup

LATER = timedelta(hours=2)


def _queue(client, form, count: int) -> list[int]:
    for n in range(count):
        assert signup(client, form, f"fault{n}@example.org").status_code == 303
    return list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))


def _rows(ids):
    db.session.expire_all()
    return [db.session.get(OutboxMessage, message_id) for message_id in ids]


def _deliver_later(app, sink, ids):
    """Run a healthy worker well after every backoff; every message must then be sent once."""
    with other_app(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port):
        report = worker.run_once(now=utcnow() + LATER)
    assert sorted(report.sent) == sorted(ids)
    assert [row.status for row in _rows(ids)] == [OutboxStatus.SENT] * len(ids)


def test_smtp_refusing_connections_loses_nothing(app, client, create_form, smtp_server):
    ids = _queue(client, create_form(), 3)
    with other_app(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port()):
        report = worker.run_once()
    assert report.sent == [] and report.retried == ids[:1]
    rows = _rows(ids)
    assert all(row.status == OutboxStatus.PENDING for row in rows)
    assert "TransportDown" in rows[0].last_error
    # Only the first was tried: the others were given back untried, not counted as attempts.
    assert [row.attempts for row in rows] == [1, 0, 0]
    _deliver_later(app, smtp_server, ids)
    assert len(smtp_server.messages) == 3


def test_a_stalled_smtp_server_does_not_hang_the_worker(app, client, create_form, smtp_server):
    ids = _queue(client, create_form(), 3)
    timeout = 0.5
    with FaultServer("stall") as stalled, other_app(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=stalled.port,
                                                    MAIL_TIMEOUT=timeout):
        started = time.monotonic()
        report = worker.run_once()
        took = time.monotonic() - started
        assert stalled.connections == 1  # one try, then the batch is left for later
    # One MAIL_TIMEOUT, and the database work around it (seconds on a loaded machine); without a
    # timeout the worker would wait for the silent server for ever.
    assert took < 20 * timeout, f"the worker waited {took:.1f}s on a silent server"
    assert report.sent == [] and report.retried == ids[:1]
    assert "timed out" in _rows(ids)[0].last_error
    _deliver_later(app, smtp_server, ids)
    assert len(smtp_server.messages) == 3


def test_a_dropped_connection_is_retried_not_lost(app, client, create_form, smtp_server):
    ids = _queue(client, create_form(), 2)
    with FaultServer("drop") as dropping, other_app(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=dropping.port):
        report = worker.run_once()
    assert report.sent == [] and report.retried == ids[:1]
    assert "Disconnected" in _rows(ids)[0].last_error or "TransportDown" in _rows(ids)[0].last_error
    _deliver_later(app, smtp_server, ids)
    assert len(smtp_server.messages) == 2


def test_a_send_that_stalls_after_data_is_resent_with_the_same_message_id(app, client, create_form):
    """The at-least-once window: the server took the message but answered too late. The resend
    carries the same Message-ID, so the receiver can drop the copy (measured: 2 copies, 1 id)."""
    (message_id,) = _queue(client, create_form(), 1)
    slow = SlowSink(delay=1.5).start()
    try:
        with other_app(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=slow.port, MAIL_TIMEOUT=0.5):
            first = worker.run_once()
        assert first.retried == [message_id]
        slow.delay = 0
        with other_app(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=slow.port, MAIL_TIMEOUT=5):
            second = worker.run_once(now=utcnow() + LATER)
        assert second.sent == [message_id]
        ids = [str(message["Message-ID"]) for message in slow.messages]
        assert len(ids) == 2 and len(set(ids)) == 1
        (row,) = _rows([message_id])
        assert row.payload["message_id"] in ids[0]
        assert row.status == OutboxStatus.SENT and row.attempts == 2
    finally:
        slow.stop()


def test_a_worker_past_its_lease_sends_nothing_more(app, client, create_form, smtp_server):
    """A batch that outlives its lease (slow server) stops: another worker owns the rest now."""
    ids = _queue(client, create_form(), 3)
    with other_app(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, PORTAL_OUTBOX_LEASE_SECONDS=0,
                   MAIL_TIMEOUT=0.1):
        report = worker.run_once()
    assert report.sent == [] and len(smtp_server.messages) == 0
    assert [row.status for row in _rows(ids)] == [OutboxStatus.PENDING] * 3
    _deliver_later(app, smtp_server, ids)


def test_signup_answers_fast_while_smtp_stalls_and_never_connects(app, create_form):
    """The request path only writes the outbox row: a silent SMTP server is never contacted."""
    form_id = create_form().id
    mail_timeout = 30
    with FaultServer("stall") as stalled:
        with other_app(app, MAIL_SERVER="127.0.0.1", MAIL_PORT=stalled.port, MAIL_TIMEOUT=mail_timeout) as live:
            client = live.test_client()
            timings = []
            for n in range(5):
                started = time.monotonic()
                response = client.post(f"/f/{form_id}", data={"email": f"fast{n}@example.org"})
                timings.append(time.monotonic() - started)
                assert response.status_code == 303
        assert stalled.connections == 0
    assert max(timings) < mail_timeout / 3, timings  # a request that waited for the server would take 30 s
    assert len(list(db.session.scalars(select(OutboxMessage.id)))) == 5
