"""Slow and oversized bodies against real gunicorn, started with the documented command
(``gunicorn wsgi:app``, settings from gunicorn.conf.py): /healthz answers while stalled
connections are open, and an oversized body is refused before it is sent."""
from __future__ import annotations

import socket
import time
import urllib.request

import pytest

from portal.config import Config
from tests.conftest import ledger_env
from tests.reliability.support import LiveServer

#: The finding: ten connections that send headers (or part of them) and stall.
STALLED = 5
#: gunicorn.conf.py's bound on each read from a client (the server's environment is this one's).
READ_TIMEOUT = Config.PORTAL_READ_TIMEOUT_SECONDS
#: Waits in this test that only a server without that bound would reach: generous on a loaded
#: machine, and long enough that a server waiting forever is told from one that waits READ_TIMEOUT.
PATIENCE = 6 * READ_TIMEOUT


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)


def _healthz(url: str) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(url + "/healthz", timeout=PATIENCE) as response:
        assert response.status == 200
    return time.monotonic() - started


@pytest.fixture
def server(app, db, create_form, tmp_path):
    form_id = create_form().id
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    log = tmp_path / "gunicorn.log"
    # Two workers to spare the test machine; threads and timeouts are gunicorn.conf.py's.
    with LiveServer(url, workers=None, log_level="info", log_path=log, PORTAL_WORKERS="2",
                    RATELIMIT_STORAGE_URI="memory://", **ledger_env(app)) as live:
        live.form_id, live.log = form_id, log
        yield live


def test_healthz_answers_while_connections_stall(server):
    stalled = []
    try:
        for _ in range(STALLED):  # headers sent, then the body never comes
            conn = _connect(server.port)
            conn.sendall(f"POST /f/{server.form_id} HTTP/1.1\r\nHost: portal.test\r\nContent-Type: "
                         "application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nemail=".encode())
            stalled.append(conn)
        for _ in range(STALLED):  # half the headers, then nothing
            conn = _connect(server.port)
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: portal.test\r\nX-Slow: ")
            stalled.append(conn)
        time.sleep(0.5)
        times = [_healthz(server.url) for _ in range(5)]
        # Worst case, every stalled connection went to one worker's 8 threads: /healthz waits for
        # one PORTAL_READ_TIMEOUT_SECONDS (5 s), after which a stalled client is dropped. Without
        # that bound the threads stay held, and /healthz never answers.
        assert max(times) < 3 * READ_TIMEOUT, times
        for conn in stalled[:STALLED]:  # the body never came: 400, and the connection is closed
            assert _read_all(conn).startswith(b"HTTP/1.1 400")
        for conn in stalled[STALLED:]:  # the headers never ended: the server hung up
            assert _read_all(conn) == b""
    finally:
        for conn in stalled:
            conn.close()


def test_a_stalled_client_is_dropped_after_the_read_timeout(server):
    conn = _connect(server.port)
    try:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: portal.test\r\nX-Slow: ")
        started = time.monotonic()
        assert _read_all(conn) == b""
        # Dropped once the read timed out; never before it, and not long after (a loaded machine
        # may add seconds; a server without the bound would keep it until _read_all gives up).
        assert READ_TIMEOUT - 1 < time.monotonic() - started < 3 * READ_TIMEOUT
    finally:
        conn.close()


def _read_all(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (PATIENCE at most)."""
    conn.settimeout(PATIENCE)
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    return data



def test_a_56_mib_body_is_refused_before_it_is_sent(server):
    times = []
    while len(times) < 3 and min(times, default=READ_TIMEOUT) >= 2:  # a stall of the machine is not repeated
        conn = _connect(server.port)
        try:
            conn.sendall(f"POST /f/{server.form_id} HTTP/1.1\r\nHost: portal.test\r\nContent-Type: "
                         f"application/json\r\nContent-Length: {56 * 1024 * 1024}\r\n\r\n".encode())
            started = time.monotonic()
            answer = _read_all(conn).decode("latin-1")  # not one byte of the body was sent
            times.append(time.monotonic() - started)
        finally:
            conn.close()
        assert answer.startswith("HTTP/1.1 413"), answer[:200]
        assert '"code":"payload_too_large"' in answer.replace(" ", "")
    # At once: a server that waited for the body would answer after READ_TIMEOUT at the earliest.
    assert min(times) < 2, times


def test_memory_rate_limits_with_several_workers_are_warned_of(server):
    assert "RATELIMIT_STORAGE_URI is memory:// with 2 workers" in server.log.read_text()
