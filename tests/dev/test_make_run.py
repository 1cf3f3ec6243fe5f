"""`make run`: PORTAL_BASE_URL from HOST and PORT, one block printed last, no production warning.

The derivation is read from make's own database (``make -n -p``: nothing runs). The whole
journey is a real ``make run`` on a free port with a fresh SQLite file, reusing the installed
virtualenv (``-o $(VENV)/.installed``: nothing is installed).
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV = sys.prefix


def make_database(*variables: str, env: dict | None = None) -> str:
    """``make -n -p run VARIABLES``: make's database for the run target, nothing executed."""
    result = subprocess.run(["make", "-n", "-p", "-o", f"{VENV}/.installed", "run", f"VENV={VENV}", *variables],
                            cwd=ROOT, env=env or _env_without_base_url(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _env_without_base_url() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("PORTAL_BASE_URL", "PORTAL_DEVELOPMENT", "HOST", "PORT")}


@pytest.mark.parametrize("variables, expected", [
    ((), "http://127.0.0.1:5000"),
    (("PORT=5731",), "http://127.0.0.1:5731"),
    (("HOST=0.0.0.0", "PORT=5731"), "http://127.0.0.1:5731"),  # listens everywhere, links say loopback
    (("HOST=localhost",), "http://localhost:5000"),
    (("HOST=192.168.1.20", "PORT=8080"), "http://192.168.1.20:8080"),
])
def test_make_run_derives_the_base_url_from_host_and_port(variables, expected):
    database = make_database(*variables)
    assert f"run: PORTAL_BASE_URL := {expected}\n" in database
    assert "run: PORTAL_DEVELOPMENT = 1\n" in database
    host = dict(v.split("=") for v in variables).get("HOST", "127.0.0.1")
    port = dict(v.split("=") for v in variables).get("PORT", "5000")
    assert f"demo --serve --host {host} --port {port}" in database  # the server listens where the links say


def test_a_base_url_that_is_set_is_kept():
    database = make_database("PORT=5731", env={**_env_without_base_url(), "PORTAL_BASE_URL": "https://portal.example"})
    assert "run: PORTAL_BASE_URL := https://portal.example\n" in database


class Output:
    """The merged stdout and stderr of a process, read line by line in a thread."""

    def __init__(self, stream):
        self.stream = stream
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float) -> int:
        """The index of the first line matching ``pattern``, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for number, line in enumerate(self.lines):
                    if re.search(pattern, line):
                        return number
            time.sleep(0.2)
        raise AssertionError(f"{pattern!r} not printed in {timeout} s:\n" + "\n".join(self.lines))

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.lines)

    def close(self) -> None:
        """After the process ended: the rest is read, the pipe closed."""
        self._thread.join(10)
        self.stream.close()


def _fresh_env(tmp_path, **variables) -> dict:
    env = _env_without_base_url()
    for name in ("SECRET_KEY", "MAIL_SERVER", "PROMETHEUS_MULTIPROC_DIR", "PORTAL_LOG_FORMAT"):
        env.pop(name, None)
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/portal.sqlite3", PORTAL_OUTBOX_DIR=str(tmp_path / "outbox"),
               PORTAL_SUPPRESSION_INDEX_DIR=str(tmp_path / "index"),
               PORTAL_LEDGER_SIGNING_KEY_PATH=str(tmp_path / "ledger-signing.pem"),
               PORTAL_LEDGER_HMAC_KEY_PATH=str(tmp_path / "ledger-hmac.key"),
               PORTAL_LEDGER_ANCHOR_DIR=str(tmp_path / "anchors"), **variables)
    return env


def _stop(process) -> None:
    """SIGINT to the process group we started (Ctrl-C): the server stops and the workers with it."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def _get(url: str, **headers) -> int:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status


REQUEST_LINE = re.compile(r'^127\.0\.0\.1 - - \[[^]]+\] "(GET|HEAD|POST) \S+ HTTP/1\.[01]" \d{3} ')


def test_make_run_prints_one_block_last_and_every_url_in_it_answers(tmp_path):
    port = free_port()
    process = subprocess.Popen(["make", "-o", f"{VENV}/.installed", "run", f"VENV={VENV}", f"PORT={port}"],
                               cwd=ROOT, env=_fresh_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    output = Output(process.stdout)
    try:
        last = output.wait_for(r"^Listening\. Press CTRL\+C to stop\.$", timeout=240)
        lines = output.snapshot()
        start = max(n for n in range(last) if lines[n].startswith("Consent portal: "))
        block = lines[start:last + 1]
        base = f"http://127.0.0.1:{port}"
        assert block[0] == f"Consent portal: {base}"
        urls = dict(re.match(r"^  (.+?)\s{2,}(\S.*)$", line).groups() for line in block[1:-1])
        assert set(urls) == {"hosted form", "demo customer page", "dev inbox", "API docs", "platform key", "try"}
        assert urls["hosted form"].startswith(f"{base}/f/") and urls["dev inbox"] == f"{base}/_dev/mail"
        assert urls["demo customer page"] == f"http://localhost:{port}/_dev/site"
        # The server listened before the block was printed: each URL answers at once.
        assert _get(urls["hosted form"]) == 200
        assert _get(urls["dev inbox"]) == 200 and _get(urls["API docs"]) == 200
        assert _get(f"{base}/api/v1/accounts", Authorization=f"Bearer {urls['platform key']}") == 200
        output.wait_for(r'"GET /api/v1/accounts HTTP/1\.1" 200', timeout=30)
        time.sleep(1)
        after = output.snapshot()[last + 1:]
        assert after and all(REQUEST_LINE.match(line) for line in after), after  # only the request log follows
        everything = "\n".join(output.snapshot())
        assert "configuration:" not in everything and "WARNING" not in everything  # no production warning
        assert "Serving Flask app" not in everything and "development server" not in everything
        assert everything.count("Consent portal: ") == 1
    finally:
        _stop(process)
        output.close()
    assert process.returncode is not None


def test_demo_serve_warns_loudly_when_the_development_pages_could_be_exposed(app, db, tmp_path):
    """PORTAL_DEVELOPMENT with a public PORTAL_BASE_URL: the block starts with the warning."""
    from tests.conftest import ledger_env

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    env = {**_fresh_env(tmp_path, PORTAL_DEVELOPMENT="1", PORTAL_BASE_URL="https://portal.example.com"),
           **ledger_env(app), "DATABASE_URL": url}
    db.session.remove()
    port = free_port()
    process = subprocess.Popen([f"{VENV}/bin/flask", "--app", "wsgi", "demo", "--serve", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    output = Output(process.stdout)
    try:
        last = output.wait_for(r"^Listening\. Press CTRL\+C to stop\.$", timeout=120)
        lines = output.snapshot()
        start = lines.index("Consent portal: https://portal.example.com")
        assert lines[start - 1].startswith("WARNING: PORTAL_DEVELOPMENT is on with "
                                           "PORTAL_BASE_URL=https://portal.example.com")
        assert _get(f"http://127.0.0.1:{port}/healthz") == 200 and last > start
        logged = [line for line in lines if "configuration:" in line]
        assert len(logged) == 1 and "never set PORTAL_DEVELOPMENT in production" in logged[0]
        assert not any("SECRET_KEY is the development key" in line for line in lines)
    finally:
        _stop(process)
        output.close()
