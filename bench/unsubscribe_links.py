"""Benchmark: links per second of ``POST /api/v1/accounts/<id>/unsubscribe-links`` under gunicorn.

Run from the repository root::

    .venv/bin/python bench/unsubscribe_links.py [--calls 3] [--workers 2] [--database-url URL]

It migrates a scratch database (SQLite in a temporary directory unless ``--database-url``
names an empty PostgreSQL database), creates an account, a list and a platform key through the
CLI, starts ``gunicorn wsgi:app`` on loopback, and times calls of 10,000 recipients: first with
new addresses (the contacts are created by the call), then the same addresses again. The
baseline is a bare Flask endpoint (:data:`baseline_app`) started by the same gunicorn command
that parses the same JSON body and answers the same shape with fixed strings: the HTTP, JSON
and process overhead that no implementation can avoid. Figures are quoted as ratios to it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from flask import Flask, jsonify, request

os.environ.setdefault("PORTAL_LEDGER_CREATE_KEYS", "1")  # development ledger keys: a bench is not production

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RECIPIENTS = 10_000

baseline_app = Flask("baseline")


@baseline_app.post("/links")
def _baseline_links():
    """Same body in, same shape out, no tokens and no database."""
    body = request.get_json()
    base = "https://portal.example/unsubscribe/x"
    return jsonify({"recipients": [
        {"email": item["email"], "unsubscribe_url": base, "preferences_url": base, "complaint_url": base,
         "headers": {"List-Unsubscribe": f"<{base}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}
        for item in body["recipients"]]})


@baseline_app.get("/healthz")
def _baseline_health():
    return {"status": "ok"}


def _flask(env: dict, *args: str) -> dict:
    out = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1]) if "--json" in args else {}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(app_spec: str, env: dict, workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen([str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
                                "--timeout", "120", "--log-level", "warning", app_spec],
                               cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return process, base
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit(f"{app_spec} did not start")


def _post(url: str, body: bytes, key: str | None = None) -> float:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    started = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=300) as answer:
        payload = json.loads(answer.read())
    elapsed = time.perf_counter() - started
    assert len(payload["recipients"]) == RECIPIENTS, payload
    return elapsed


def _body(list_id: str, run: int) -> bytes:
    return json.dumps({"list_id": list_id, "recipients": [
        {"email": f"bench.{run}.{i}@example.org", "message_id": f"<bench-{run}-{i}@platform.example>"}
        for i in range(RECIPIENTS)]}).encode()


def _rate(seconds: list[float]) -> float:
    return RECIPIENTS / (sum(seconds) / len(seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3, help="timed calls of each kind")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, SECRET_KEY="bench", PORTAL_BASE_URL="https://portal.example",
                   PORTAL_UNSUBSCRIBE_MAIL_DOMAIN="unsub.portal.example",
                   DATABASE_URL=args.database_url or f"sqlite:///{scratch}/bench.sqlite3")
        _flask(env, "db", "upgrade")
        account = _flask(env, "accounts", "create", "--name", "Bench", "--postal-address", "Jl. Bench 1",
                         "--contact-email", "bench@example.org", "--json")
        mailing_list = _flask(env, "lists", "create", "--account", account["id"], "--name", "Bench", "--json")
        key = _flask(env, "keys", "create", "--scope", "platform", "--json")["key"]
        url = f"/api/v1/accounts/{account['id']}/unsubscribe-links"

        baseline, base = _serve("bench.unsubscribe_links:baseline_app", env, args.workers)
        try:
            _post(base + "/links", _body(mailing_list["id"], 0))  # warm up
            bare = [_post(base + "/links", _body(mailing_list["id"], 0)) for _ in range(args.calls)]
        finally:
            baseline.terminate()
            baseline.wait()

        portal, base = _serve("wsgi:app", env, args.workers)
        try:
            _post(base + url, _body(mailing_list["id"], 0), key)  # warm up (creates the run-0 contacts)
            new = [_post(base + url, _body(mailing_list["id"], run), key) for run in range(1, args.calls + 1)]
            known = [_post(base + url, _body(mailing_list["id"], 0), key) for _ in range(args.calls)]
        finally:
            portal.terminate()
            portal.wait()

    database = "postgresql" if args.database_url else "sqlite"
    print(f"unsubscribe-links, {RECIPIENTS} recipients per call, {args.calls} calls each, "
          f"gunicorn -w {args.workers}, {database}")
    print(f"  baseline (bare Flask, same JSON):  {_rate(bare):10.0f} recipients/s")
    print(f"  portal, new contacts:              {_rate(new):10.0f} links/s  "
          f"({_rate(new) / _rate(bare):.2f} x baseline, {sum(new) / len(new):.2f} s per call)")
    print(f"  portal, existing contacts:         {_rate(known):10.0f} links/s  "
          f"({_rate(known) / _rate(bare):.2f} x baseline, {sum(known) / len(known):.2f} s per call)")


if __name__ == "__main__":
    main()
