"""Fault servers, live servers and table snapshots for the reliability tests."""
from __future__ import annotations

import asyncio
import socket
import threading
import time

from sqlalchemy import func, select

from portal.extensions import db
from tests.conftest import SMTPSink, free_port


class FaultServer:
    """A TCP server on loopback that misbehaves as an SMTP server.

    ``stall``: accepts and never says a word. ``drop``: greets, then closes the connection at
    the first command. ``connections`` counts who came.
    """

    def __init__(self, mode: str):
        self.mode = mode
        self.connections = 0
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(50)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            self._open.append(conn)
            if self.mode == "drop":
                conn.sendall(b"220 fault.test ESMTP\r\n")
                conn.settimeout(5)
                try:
                    conn.recv(1024)
                except OSError:
                    pass
                conn.close()

    def __enter__(self) -> "FaultServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._open:
            conn.close()
        self._sock.close()


class SlowSink(SMTPSink):
    """A real SMTP server that keeps each message, then waits ``delay`` seconds before its
    "250" (the client that gave up does not know it was delivered)."""

    def __init__(self, delay: float):
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(self.delay)
        return answer


#: How long a server in its own process may take to answer its first /healthz.
STARTUP_SECONDS = 120


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until true or ``timeout``; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def row_counts() -> dict[str, int]:
    """The number of rows of every table (to show that a request changed nothing)."""
    db.session.expire_all()
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


def table_digests() -> dict[str, str]:
    """A digest of every row of every table (to show that a request changed nothing, not even a
    value in a row that stayed)."""
    import hashlib

    db.session.expire_all()
    digests = {}
    for table in db.metadata.sorted_tables:
        rows = [tuple(row) for row in db.session.execute(select(table).order_by(*table.primary_key.columns))]
        digests[table.name] = f"{len(rows)} rows, {hashlib.sha256(repr(rows).encode()).hexdigest()}"
    return digests


__all__ = ["FaultServer", "SlowSink", "free_port", "row_counts", "wait_for"]


ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def process_ledger_env() -> dict[str, str]:
    """Ledger keys for a process of its own: the session's test keys (made on first use), never
    ``instance/`` (outside development a missing key file stops the start)."""
    from tests.conftest import LEDGER_DIR, ledger_paths

    return {"PORTAL_LEDGER_CREATE_KEYS": "1", **ledger_paths(LEDGER_DIR)}


class LiveServer:
    """The portal under gunicorn on loopback, in its own process, on the test's database."""

    def __init__(self, database_url: str, *, workers: int | None = 1, threads: int = 4, log_level: str = "warning",
                 log_path=None, **env: str):
        """With ``workers=None``: the documented ``gunicorn wsgi:app`` and only a bind address
        (workers, threads and timeouts from gunicorn.conf.py and the environment)."""
        import os

        from tests.conftest import index_directory

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key",
                    "PORTAL_BASE_URL": "https://portal.test", "PORTAL_SUPPRESSION_INDEX_DIR": index_directory(database_url),
                    **process_ledger_env(), **{k: str(v) for k, v in env.items()}}
        self.args = [__import__("sys").executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
                     "--log-level", log_level, "wsgi:app"]
        if workers is not None:
            self.args[-1:-1] = ["--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread"]
        self.log_path = log_path  # where gunicorn's log goes (inherited stderr when None)
        self.process = None

    def __enter__(self) -> "LiveServer":
        import subprocess
        import urllib.request

        log = open(self.log_path, "w") if self.log_path else None
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stderr=log)
        if log is not None:
            log.close()

        def up() -> bool:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=10) as response:
                    return response.status == 200
            except OSError:
                return False

        # Importing the app alone takes seconds on a loaded machine: the wait is generous.
        if not wait_for(up, timeout=STARTUP_SECONDS, interval=0.2):
            self.__exit__()
            raise RuntimeError(f"gunicorn did not start on {self.url}")
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except Exception:  # noqa: BLE001 - a hung server is killed
                self.process.kill()
                self.process.wait(5)
            self.process = None


class Worker:
    """``flask outbox work`` in its own process, on the test's database."""

    def __init__(self, database_url: str, mail_port: int, **env):
        import os
        import sys

        self.env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key",
                    "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(mail_port), "MAIL_TIMEOUT": "5",
                    **process_ledger_env(), **{k: str(v) for k, v in env.items()}}
        self.args = [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "work", "--poll", "0.2"]
        self.process = None

    def __enter__(self) -> "Worker":
        import subprocess

        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL)
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except Exception:  # noqa: BLE001
                self.process.kill()
                self.process.wait(5)
