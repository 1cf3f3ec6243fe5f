"""Benchmark: stream the NDJSON ledger export of N events through gunicorn; memory stays flat.

    python bench/ledger_export.py [--events 1000000] [--database-url postgresql://postgres@127.0.0.1/postgres]

Without ``--database-url`` a temporary SQLite file is used; with a PostgreSQL URL a scratch
database is created next to it and dropped afterwards. Events are bulk-inserted with correct
hash chains (executemany on SQLite, COPY on PostgreSQL), then a gunicorn worker on loopback
serves ``GET /api/v1/accounts/<id>/ledger/export`` and the script reads it to the end.
Printed: insert rate, export events/s and MB/s, the worker's RSS after startup (baseline) and
its peak RSS (VmHWM) during the export, as a ratio to the baseline.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("PORTAL_LEDGER_CREATE_KEYS", "1")  # development ledger keys: a bench is not production
sys.path.insert(0, ROOT)

from portal import create_app  # noqa: E402
from portal.addresses import email_hash  # noqa: E402
from portal.consent.models import GENESIS  # noqa: E402
from portal.consent.operations import commitment, event_hash, ip_prefix  # noqa: E402
from portal.consent.keys import event_mac  # noqa: E402

COLUMNS = ("account_id", "contact_id", "seq", "type", "occurred_at", "list_id", "source", "message_ref",
           "consent_text_id", "evidence", "email", "ip", "ip_prefix", "user_agent", "page_url", "pii_salt",
           "pii_commitments", "prev_hash", "hash", "redacted_at", "mac")
TYPES = ("signup_requested", "confirmation_sent", "confirmed", "unsubscribed", "resubscribed")


def scratch_database(url: str | None) -> tuple[str, callable]:
    """A SQLAlchemy URL of an empty database and a function that removes it."""
    if not url:
        path = os.path.join(tempfile.mkdtemp(prefix="bench-ledger-"), "bench.sqlite3")
        return f"sqlite:///{path}", lambda: os.path.exists(path) and os.remove(path)
    import psycopg

    name = f"bench_ledger_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return "postgresql+psycopg://" + plain.split("://", 1)[1].rsplit("/", 1)[0] + "/" + name, drop


def setup(app) -> tuple[str, str, str, int]:
    """Migrate; create an account, list, form and key: (account id, list id, key secret, text id)."""
    import flask_migrate

    from portal.accounts import operations as accounts
    from portal.extensions import db
    from portal.subscriptions import operations as subscriptions

    flask_migrate.upgrade()
    account = accounts.create_account(name="Bench", postal_address="Jl. Bench 1", contact_email="o@bench.example")
    mailing_list = subscriptions.create_list(account, name="News")
    form = subscriptions.create_form(account, name="Signup", list_ids=[mailing_list.id])
    _key, secret = accounts.create_api_key(scope="account", account_id=account.id)
    db.session.commit()
    return account.id, mailing_list.id, secret, form.consent_text.id


def insert_contacts(app, account_id: str, count: int) -> list[int]:
    """``count`` contacts, bulk; their ids in order."""
    from sqlalchemy import text

    from portal.extensions import db

    now = datetime.now(timezone.utc)
    rows = [{"a": account_id, "e": f"person{i}@bench.example", "h": email_hash(f"person{i}@bench.example"),
             "t": now if db.engine.dialect.name != "sqlite" else now.strftime("%Y-%m-%d %H:%M:%S.%f")}
            for i in range(count)]
    db.session.execute(text("INSERT INTO contacts (account_id, email, email_hash, created_at) "
                            "VALUES (:a, :e, :h, :t)"), rows)
    db.session.commit()
    return list(db.session.scalars(text("SELECT id FROM contacts ORDER BY id")))


def events(account_id: str, list_id: str, text_id: int, contact_ids: list[int], total: int):
    """``total`` events with correct per-contact hash chains, as tuples in COLUMNS order."""
    per_contact = max(1, total // len(contact_ids))
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    made = 0
    for number, contact_id in enumerate(contact_ids):
        prev = GENESIS
        email = f"person{number}@bench.example"
        for seq in range(1, per_contact + 1):
            if made == total:
                return
            first = seq == 1
            ip = f"198.51.{number % 250}.{seq % 250}" if first else None
            personal = {"email": email, "ip": ip, "ip_prefix": ip_prefix(ip),
                        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Bench/1.0" if first else None,
                        "page_url": "https://shop.example/signup?utm=bench" if first else None}
            salt = secrets.token_hex(16)
            commitments = {k: commitment(salt, k, v) for k, v in personal.items() if v}
            event = SimpleNamespace(
                account_id=account_id, contact_id=contact_id, seq=seq, type=TYPES[(seq - 1) % len(TYPES)],
                occurred_at=start + timedelta(seconds=made, microseconds=made % 997), list_id=list_id,
                source="form:bench", message_ref=None, consent_text_id=text_id if first else None,
                evidence={"form_id": "bench", "consent_text_version": 1}, pii_commitments=commitments,
                prev_hash=prev)
            event.hash = event_hash(event)
            prev = event.hash
            made += 1
            yield (account_id, contact_id, seq, event.type, event.occurred_at, list_id, event.source, None,
                   event.consent_text_id, json.dumps(event.evidence), email, ip, personal["ip_prefix"],
                   personal["user_agent"], personal["page_url"], salt, json.dumps(commitments), event.prev_hash,
                   event.hash, None, event_mac(event.hash))


def bulk_insert(app, rows) -> None:
    """COPY on PostgreSQL, executemany on SQLite, in chunks."""
    from portal.extensions import db

    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if db.engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY consent_events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            sql = f"INSERT INTO consent_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
            chunk = []
            for row in rows:
                chunk.append(row[:4] + (row[4].strftime("%Y-%m-%d %H:%M:%S.%f"),) + row[5:])
                if len(chunk) == 20000:
                    cursor.executemany(sql, chunk)
                    chunk.clear()
            cursor.executemany(sql, chunk)
        if db.engine.dialect.name == "postgresql":
            cursor.execute("ANALYZE consent_events")  # what autovacuum does after a bulk load
        raw.commit()
    finally:
        raw.close()


def rss_kb(pid: int, field: str) -> int:
    """``VmRSS`` or ``VmHWM`` of a process, in kB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def worker_pid(master: int) -> int:
    for _ in range(100):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
        if out.split():
            return int(out.split()[0])
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker")


def serve(url: str, port: int) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench-secret")
    process = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "-k", "gthread", "--threads", "2", "-w", "1",
         "--timeout", "3600", "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def read_export(port: int, account_id: str, secret: str, query: str = "") -> tuple[int, int]:
    """Stream the export to the end: (lines, bytes)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/accounts/{account_id}/ledger/export{query}",
                                     headers={"Authorization": f"Bearer {secret}"})
    lines = size = 0
    with urllib.request.urlopen(request, timeout=3600) as response:
        reader = io.BufferedReader(response, buffer_size=1 << 16)
        for line in reader:
            lines += 1
            size += len(line)
    return lines, size


COPY_BASELINE = """COPY (SELECT row_to_json(t) FROM (
  SELECT e.id, e.contact_id, e.seq, e.type, e.occurred_at, e.email, e.list_id, e.source,
         CASE WHEN e.actor IS NULL THEN NULL ELSE json_build_object('type', e.actor, 'key_id', e.actor_key_id)
              END AS actor, x.form_id,
         CASE WHEN x.id IS NULL THEN NULL ELSE json_build_object('id', x.id, 'form_id', x.form_id,
              'version', x.version, 'text', x.text) END AS consent_text,
         e.ip, e.ip_prefix, e.user_agent, e.page_url, e.message_ref, coalesce(e.evidence::json, '{}'::json) AS evidence,
         e.redacted_at IS NOT NULL AS redacted, e.hash, e.prev_hash
  FROM consent_events e LEFT JOIN consent_texts x ON x.id = e.consent_text_id
  WHERE e.account_id = %s ORDER BY e.id) t) TO STDOUT"""


def copy_baseline(url: str, account_id: str) -> tuple[int, int, float]:
    """The same rows as JSON lines straight out of PostgreSQL (``COPY ... TO STDOUT``): (lines, bytes, s)."""
    import psycopg

    plain = url.replace("postgresql+psycopg://", "postgresql://")
    lines = size = 0
    with psycopg.connect(plain) as conn, conn.cursor() as cur:
        began = time.perf_counter()
        with cur.copy(COPY_BASELINE, (account_id,)) as copy:
            for block in copy:
                size += len(block)
                lines += bytes(block).count(b"\n")
        elapsed = time.perf_counter() - began
    return lines, size, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--per-contact", type=int, default=10)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL; default: temporary SQLite")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--verify", action="store_true", help="run the ledger verification after the insert")
    args = parser.parse_args()

    url, drop = scratch_database(args.database_url)
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            account_id, list_id, secret, text_id = setup(app)
            began = time.perf_counter()
            contacts = insert_contacts(app, account_id, max(1, args.events // args.per_contact))
            bulk_insert(app, events(account_id, list_id, text_id, contacts, args.events))
            inserted = time.perf_counter() - began
            from portal.extensions import db
            if args.verify:
                from portal.consent.operations import verify
                report = verify()
                assert report.ok and report.events == args.events, report.problems[:3]
                print(f"ledger verify: {report.events:,} events in {report.chains:,} chains intact")
            db.engine.dispose()
        backend = url.split(":", 1)[0].split("+")[0]
        print(f"backend: {backend}; inserted {args.events:,} events for {len(contacts):,} contacts "
              f"in {inserted:.1f}s ({args.events / inserted:,.0f} events/s)")

        port = args.port or _free_port()
        server = serve(url, port)
        try:
            worker = worker_pid(server.pid)
            read_export(port, account_id, secret, "?until=2000-01-01T00:00:00Z")  # warm up: imports, pool
            baseline = rss_kb(worker, "VmRSS")
            began = time.perf_counter()
            lines, size = read_export(port, account_id, secret)
            elapsed = time.perf_counter() - began
            peak = rss_kb(worker, "VmHWM")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        assert lines == args.events, f"exported {lines} lines, expected {args.events}"
        print(f"export: {lines:,} events, {size / 1e6:,.1f} MB of NDJSON in {elapsed:.1f}s: "
              f"{lines / elapsed:,.0f} events/s, {size / 1e6 / elapsed:,.1f} MB/s")
        print(f"server RSS: baseline after startup {baseline / 1024:,.1f} MB, peak during export "
              f"{peak / 1024:,.1f} MB ({peak / baseline:.2f}x baseline; the export itself is "
              f"{size / 1024 / baseline:.1f}x baseline)")
        figures = {"figure": "ledger export", "rate": lines / elapsed, "peak_ratio": peak / baseline}
        if backend == "postgresql":
            copied, copy_size, copy_seconds = copy_baseline(url, account_id)
            assert copied == lines, f"COPY gave {copied} lines, the export {lines}"
            ratio = (lines / elapsed) / (copied / copy_seconds)
            print(f"baseline: COPY (SELECT row_to_json ...) TO STDOUT of the same rows: {copied / copy_seconds:,.0f} "
                  f"events/s, {copy_size / 1e6 / copy_seconds:,.1f} MB/s; export / COPY = {ratio:.2f} (target 0.5: "
                  f"{'met' if ratio >= 0.5 else 'NOT met'}); target 150,000 events/s: "
                  f"{'met' if lines / elapsed >= 150_000 else 'NOT met'}")
            figures["copy"] = copied / copy_seconds
        print(json.dumps(figures))
    finally:
        drop()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()
