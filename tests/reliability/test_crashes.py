"""A worker killed mid-delivery, and PostgreSQL dropping every connection mid-run: nothing is
lost; the one possible duplicate (killed after the server took the mail) keeps its Message-ID."""
from __future__ import annotations

import os
import signal
import threading
import time

import psycopg
import pytest
import requests
from sqlalchemy import func, select

from portal.consent.models import ConsentEvent, EventType
from portal.extensions import db
from portal.outbox.models import OutboxMessage, OutboxStatus
from tests.conftest import TEST_DATABASE_URL, SMTPSink, ledger_env
from tests.reliability.support import LiveServer, Worker, wait_for
from tests.subscriptions.helpers import signup


class KillingSink(SMTPSink):
    """An SMTP server that kills the worker process at one point of the first session:
    ``after_data`` (the mail is kept, the "250" never arrives) or ``at_mail`` (before any data)."""

    def __init__(self, when: str):
        super().__init__()
        self.when, self.victim = when, None

    def _kill(self) -> None:
        if self.victim is not None:
            os.kill(self.victim, signal.SIGKILL)
            self.victim = None

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.when == "at_mail":
            self._kill()
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        if self.when == "after_data":
            self._kill()
        return answer


def _one_message(client, create_form) -> int:
    signup(client, create_form(), "crash@example.org")
    return db.session.scalar(select(OutboxMessage.id))


def _run_crash(app, sink: KillingSink, message_id: int) -> OutboxMessage:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    keys = ledger_env(app)
    with Worker(url, sink.port, PORTAL_OUTBOX_LEASE_SECONDS=3, **keys) as first:
        sink.victim = first.pid
        first.process.wait(120)  # it starts, claims the message and is killed by the sink
        assert first.process.returncode == -signal.SIGKILL
    with Worker(url, sink.port, PORTAL_OUTBOX_LEASE_SECONDS=3, **keys):
        def sent() -> bool:
            db.session.expire_all()
            return db.session.get(OutboxMessage, message_id).status == OutboxStatus.SENT
        assert wait_for(sent, timeout=120)
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def test_killed_after_the_server_took_the_mail_resends_it_with_the_same_message_id(app, client, create_form):
    message_id = _one_message(client, create_form)
    sink = KillingSink("after_data").start()
    try:
        row = _run_crash(app, sink, message_id)
        ids = [str(message["Message-ID"]) for message in sink.messages]
    finally:
        sink.stop()
    # Measured: the at-least-once window gives exactly one duplicate, with one Message-ID.
    assert len(ids) == 2 and len(set(ids)) == 1 and row.payload["message_id"] in ids[0]
    assert row.attempts == 2


def test_killed_before_the_server_took_the_mail_sends_it_once(app, client, create_form):
    message_id = _one_message(client, create_form)
    sink = KillingSink("at_mail").start()
    try:
        row = _run_crash(app, sink, message_id)
        assert len(sink.messages) == 1
    finally:
        sink.stop()
    assert row.attempts == 2


def _terminate_others(database: str) -> int:
    """pg_terminate_backend every connection to ``database`` but this one (a restart, simulated)."""
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        return len(conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = %s AND pid <> pg_backend_pid()", (database,)).fetchall())


def test_app_and_workers_survive_postgresql_dropping_every_connection(app, create_form, backend):
    """Two app processes, two workers; every connection killed three times during the run."""
    if backend != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    form_id = create_form().id
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    database = url.rsplit("/", 1)[1]
    db.session.remove()
    db.engine.dispose()
    sink = SMTPSink().start()
    answered: list[int] = []
    kills = []
    try:
        # No worker dies here: the lease only has to outlast a send on a loaded machine (with 5 s,
        # a slow send lost its lease and the other worker sent the message again).
        lease = {"PORTAL_OUTBOX_LEASE_SECONDS": 30, **ledger_env(app)}
        with LiveServer(url, **ledger_env(app)) as one, LiveServer(url, **ledger_env(app)) as two, \
                Worker(url, sink.port, **lease) as w1, \
                Worker(url, sink.port, **lease) as w2:
            stop = threading.Event()

            def killer():
                while not stop.is_set() and len(kills) < 3:
                    time.sleep(1.0)
                    kills.append(_terminate_others(database))

            thread = threading.Thread(target=killer)
            thread.start()
            n = 0
            while len(kills) < 3 or n < 30:
                server = (one, two)[n % 2]
                response = requests.post(f"{server.url}/f/{form_id}", data={"email": f"pg{n}@example.org"},
                                         allow_redirects=False, timeout=60)
                answered.append(response.status_code)
                n += 1
            stop.set()
            thread.join()
            ok = answered.count(303)

            def all_sent() -> bool:
                return len(sink.messages) >= ok

            wait_for(all_sent, timeout=120)
            time.sleep(1)
            assert w1.process.poll() is None and w2.process.poll() is None  # both workers lived
    finally:
        sink.stop()
    db.session.expire_all()
    requested = db.session.scalar(select(func.count()).select_from(ConsentEvent)
                                  .where(ConsentEvent.type == EventType.SIGNUP_REQUESTED))
    rows = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    message_ids = [str(message["Message-ID"]) for message in sink.messages]
    print(f"pg kills: {kills} connections; requests {len(answered)}, 303: {ok}, "
          f"other: {len(answered) - ok}; events {requested}; outbox {rows}; mails {len(message_ids)}, "
          f"distinct {len(set(message_ids))}")
    assert sum(kills) > 0
    assert requested == ok and rows == ok  # every answered signup kept, nothing extra
    assert len(set(message_ids)) == ok  # every mail delivered
    assert len(message_ids) == ok  # none twice
    assert answered.count(303) >= len(answered) - len(kills) * 2  # at most the requests caught mid-kill fail
