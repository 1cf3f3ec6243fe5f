"""Shared pieces of the suppression benchmarks: a scratch PostgreSQL database, gunicorn, clients."""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import psycopg

os.environ.setdefault("PORTAL_LEDGER_CREATE_KEYS", "1")  # development ledger keys: a bench is not production

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON_BIN = os.path.dirname(sys.executable)
#: The one gunicorn command both the portal and the baseline are served with.
GUNICORN = [os.path.join(PYTHON_BIN, "gunicorn"), "-w", "2", "-k", "gthread", "--threads", "8",
            "--log-level", "warning"]


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def scratch_database(server_url: str):
    """A new, migrated PostgreSQL database (dropped afterwards): yields its URL."""
    name = f"portal_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server_url.rsplit("/", 1)[0] + "/" + name
    try:
        env = {**os.environ, "DATABASE_URL": url}
        subprocess.run([os.path.join(PYTHON_BIN, "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_account(url: str) -> tuple[str, str, str]:
    """An account, a list and a platform key in the database at ``url``: (account, list, key)."""
    env = {**os.environ, "DATABASE_URL": url}
    flask = [os.path.join(PYTHON_BIN, "flask"), "--app", "wsgi"]

    def run(*args: str) -> dict:
        out = subprocess.run(flask + list(args), cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    account = run("accounts", "create", "--name", "Bench", "--postal-address", "Jl. Bench 1",
                  "--contact-email", "bench@bench.example", "--json")["id"]
    mailing_list = run("lists", "create", "--account", account, "--name", "Bench", "--json")["id"]
    key = run("keys", "create", "--scope", "platform", "--json")["key"]
    return account, mailing_list, key


def address(i: int) -> str:
    """The i-th benchmark address."""
    return f"user{i}@bench{i % 97}.example"


def email_hash(email: str) -> str:
    """As :func:`portal.addresses.email_hash` for these plain addresses."""
    return hashlib.sha256(email.lower().encode()).hexdigest()


@contextmanager
def serve(app: str, database_url: str | None = None, extra_env: dict | None = None):
    """Run ``GUNICORN app`` on a free port until the block ends: yields the port."""
    port = free_port()
    env = {**os.environ, **(extra_env or {})}
    if database_url:
        env["DATABASE_URL"] = database_url
    process = subprocess.Popen(GUNICORN + ["-b", f"127.0.0.1:{port}", app], cwd=ROOT, env=env)
    try:
        wait_for(port)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def wait_for(port: int, path: str = "/", timeout: float = 60) -> None:
    """Wait until the workers answer HTTP on ``port`` (the master listens long before they boot)."""
    deadline = time.monotonic() + timeout
    answered = 0
    while time.monotonic() < deadline and answered < 8:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            answered += 1
        except OSError:
            time.sleep(0.2)
    if answered < 8:
        raise RuntimeError(f"nothing answers on {port}")


def post_json(conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    """POST a ready JSON body on a kept-alive connection: (status, answer)."""
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
    response = conn.getresponse()
    return response.status, response.read()
