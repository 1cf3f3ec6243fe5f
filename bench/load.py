"""Load: a campaign's burst of one-click unsubscribes and confirmations during bulk send-checks.

Run from the repository root (PostgreSQL; nothing leaves loopback)::

    .venv/bin/python bench/load.py [--quick] [--database-url postgresql://postgres@127.0.0.1:5432/test]

It creates its own database next to ``--database-url`` (or TEST_DATABASE_URL), migrates it,
seeds an account, a list, confirmed contacts (one one-click unsubscribe link each), pending
signups (one confirmation link each) and a platform key, starts ``gunicorn wsgi:app`` (2
processes x 4 threads) on loopback, and fires, from a pool of client threads and all at once:
every unsubscribe link once (RFC 8058 one-click POST), every confirmation link once, and bulk
``send-check`` calls of 1,000 addresses until the burst is done. Before the burst, a tenth of the
unsubscribe links are posted with nothing else running (4 client threads): the one-click
latency the burst's is printed beside. It prints throughput, p50/p99 and errors per kind, then checks that nothing was lost: the ledger's ``unsubscribed`` and
``confirmed`` events equal the requests answered 2xx. Exit status 1 on a 5xx or a loss.
The database is dropped at the end.

``--profile`` samples the gunicorn workers with py-spy (``pip install py-spy``; it needs ptrace)
during the burst, every thread, waiting ones included (``--idle``), and prints where the workers'
threads spend the burst: the leaf functions by share of samples, and the share of samples waiting
on the database, on a lock, on the socket to the client, or running Python.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("PORTAL_LEDGER_CREATE_KEYS", "1")  # development ledger keys: a bench is not production
sys.path.insert(0, str(ROOT))
SECRET = "bench-load-secret"
SEND_CHECK_BATCH = 1000
#: Seconds a client waits for an answer (then counts the request as failed, 599): the p99 of a
#: saturated 2-core machine was 15.5 s, and a slow answer is a figure, not an error.
REQUEST_TIMEOUT = 300
#: Seconds gunicorn may take to answer its first /healthz (importing the app takes seconds under load).
STARTUP_TIMEOUT = 120


def _sqlalchemy(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def create_database(base_url: str) -> tuple[str, str]:
    """A new empty database beside ``base_url``: (name, SQLAlchemy URL)."""
    import psycopg

    name = f"portal_load_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, _sqlalchemy(base_url).rsplit("/", 1)[0] + "/" + name


def drop_database(base_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(url: str, confirmed: int, pending: int, files: dict[str, str]) -> dict:
    """Migrate and seed; the paths to hit and the key (built through the real operations)."""
    import flask_migrate

    from portal import create_app, links
    from portal.accounts import operations as accounts
    from portal.consent import operations as ledger
    from portal.extensions import db
    from portal.subscriptions import operations as subscriptions
    from portal.consent.evidence import RequestEvidence
    from portal.signup import operations as doi
    from portal.subscriptions.models import Subscription, SubscriptionStatus

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET, "SECRET_KEY_FALLBACKS": [],
                      "PORTAL_BASE_URL": "http://load.test", "PORTAL_OUTBOX_DIR": os.devnull, **files,
                      "PORTAL_LEDGER_CREATE_KEYS": True})  # made here, before gunicorn reads them
    with app.app_context():
        flask_migrate.upgrade()
        account = accounts.create_account(name="Load", postal_address="Jl. Load 1, Bandung", locale="en",
                                          contact_email="owner@load.example")
        mailing_list = subscriptions.create_list(account, name="News")
        form = subscriptions.create_form(account, name="Signup", list_ids=[mailing_list.id])
        _key, secret = accounts.create_api_key(scope="platform", account_id=None)
        db.session.commit()
        unsubscribe, emails = [], []
        for n in range(confirmed):
            contact = subscriptions.get_or_create_contact(account, f"reader{n}@load.example")
            db.session.add(Subscription(contact_id=contact.id, list_id=mailing_list.id,
                                        status=SubscriptionStatus.CONFIRMED))
            ledger.record("confirmed", contact=contact, list_id=mailing_list.id, source="bench")
            target = links.Target(contact.id, mailing_list.id, f"<campaign-{n}@load.example>")
            unsubscribe.append(links.unsubscribe_url(target).split("http://load.test", 1)[1])
            emails.append(contact.email)
        confirm = []
        for n in range(pending):
            request = doi.request_signup(form, email=f"new{n}@load.example", evidence=RequestEvidence())
            confirm.append(links.confirm_url(request.id).split("http://load.test", 1)[1])
        db.session.commit()
        info = {"account": account.id, "list": mailing_list.id, "key": secret, "unsubscribe": unsubscribe,
                "confirm": confirm, "emails": emails}
        db.engine.dispose()
    return info


def count_events(url: str) -> dict[str, int]:
    """Ledger events by type (written by the burst, plus the seed's ``confirmed``)."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return dict(conn.execute("SELECT type, count(*) FROM consent_events GROUP BY type").fetchall())


def run_files(directory: str) -> dict[str, str]:
    """Ledger key files, anchor log and suppression index of this run's database, in ``directory``
    (never the repository's instance/)."""
    return {"PORTAL_LEDGER_SIGNING_KEY_PATH": os.path.join(directory, "ledger-signing.pem"),
            "PORTAL_LEDGER_HMAC_KEY_PATH": os.path.join(directory, "ledger-hmac.key"),
            "PORTAL_LEDGER_ANCHOR_DIR": os.path.join(directory, "anchors"),
            "PORTAL_SUPPRESSION_INDEX_DIR": os.path.join(directory, "suppression-index")}


def start_gunicorn(url: str, port: int, files: dict[str, str]) -> subprocess.Popen:
    env = {**os.environ, **files, "DATABASE_URL": url, "SECRET_KEY": SECRET, "PORTAL_BASE_URL": "http://load.test",
           "RATELIMIT_STORAGE_URI": "memory://",
           # Every client here is 127.0.0.1: the per-IP limit of confirmations would stop the
           # burst. One-click unsubscribes are limited per link, so they keep their default.
           "PORTAL_CONFIRM_IP_LIMIT": "1000000 per hour"}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                                "--threads", "4", "--worker-class", "gthread", "--log-level", "warning",
                                "wsgi:app"], cwd=ROOT, env=env)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def start_profiler(master: int, output: str) -> subprocess.Popen:
    """py-spy recording every thread of the gunicorn workers (children of ``master``), idle ones too."""
    spy = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    return subprocess.Popen([spy, "record", "--pid", str(master), "--subprocesses", "--idle", "--nonblocking",
                             "--rate", "100", "--format", "raw", "--output", output],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


#: Where a sampled thread is, by its innermost frames: the first rule whose words appear wins.
WAIT_KINDS = (("database", ("psycopg", "pgconn", "_pq_", "wait_conn", "execute_", "pq.")),
              ("lock or pool", ("acquire", "threading.py", "_cond", "queue.py", "pool.py")),
              ("client socket", ("socket.py", "selectors.py", "gthread.py", "ssl.py", "recv_into", "accept")),)


def summarise_profile(path: str, top: int = 15) -> None:
    """Print the leaf functions of the collapsed stacks py-spy wrote, and the share by kind of wait."""
    leaves: dict[str, int] = {}
    kinds: dict[str, int] = {}
    callers: dict[str, int] = {}  # the innermost portal function of the samples waiting on the database
    total = 0
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            frames, samples = stack.split(";"), int(count)
            total += samples
            leaves[frames[-1]] = leaves.get(frames[-1], 0) + samples
            inner = " ".join(frames[-4:])
            kind = next((name for name, words in WAIT_KINDS if any(word in inner for word in words)), "running Python")
            kinds[kind] = kinds.get(kind, 0) + samples
            if kind == "database":
                caller = next((frame for frame in reversed(frames) if "(portal/" in frame), "outside portal/")
                callers[caller] = callers.get(caller, 0) + samples
    if not total:
        print("profile: no samples (ptrace not allowed?)")
        return
    print(f"profile of the workers' threads during the burst ({total} samples, every thread, idle ones included):")
    for kind, samples in sorted(kinds.items(), key=lambda item: -item[1]):
        print(f"  {kind:<15} {samples / total:6.1%}")
    print("  leaf functions:")
    for leaf, samples in sorted(leaves.items(), key=lambda item: -item[1])[:top]:
        print(f"  {samples / total:6.1%}  {leaf[:140]}")
    print("  waiting on the database, by the innermost portal function:")
    for caller, samples in sorted(callers.items(), key=lambda item: -item[1])[:top]:
        print(f"  {samples / total:6.1%}  {caller[:140]}")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Results:
    """Latencies and statuses per kind of request (thread-safe)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_kind: dict[str, list[tuple[float, int]]] = {}

    def add(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.by_kind.setdefault(kind, []).append((seconds, status))


_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def _post(base: str, path: str, body: bytes | None, headers: dict, opener=None) -> int:
    request = urllib.request.Request(base + path, data=body, method="POST" if body is not None else "GET",
                                     headers=headers)
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=REQUEST_TIMEOUT) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 599  # connection error: counted as a server error


def run_burst(base: str, info: dict, threads: int, results: Results) -> float:
    """Every link once, with send-checks alongside until the links are done; the wall time."""
    one_click = b"List-Unsubscribe=One-Click"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    check_body = json.dumps({"list_id": info["list"], "emails": (info["emails"] * 10)[:SEND_CHECK_BATCH]}).encode()
    api = {"Content-Type": "application/json", "Authorization": f"Bearer {info['key']}"}
    check_path = f"/api/v1/accounts/{info['account']}/send-check"
    done = threading.Event()

    def timed(kind: str, path: str, body: bytes, headers: dict) -> None:
        if kind == "confirm":
            return confirm(path)
        started = time.perf_counter()
        status = _post(base, path, body, headers)
        results.add(kind, time.perf_counter() - started, status)

    def confirm(path: str) -> None:
        """As a person: open the page (a session cookie and its CSRF token), press the button."""
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        started = time.perf_counter()
        try:
            with opener.open(base + path, timeout=REQUEST_TIMEOUT) as response:
                token = _CSRF.search(response.read())
            status = response.status
        except urllib.error.HTTPError as error:
            token, status = None, error.code
        except OSError:
            token, status = None, 599
        results.add("confirm-page", time.perf_counter() - started, status)
        body = urllib.parse.urlencode({"csrf_token": token.group(1).decode() if token else ""}).encode()
        started = time.perf_counter()
        status = _post(base, path, body, form, opener)
        results.add("confirm", time.perf_counter() - started, status)

    def checker() -> None:
        while not done.is_set():
            timed("send-check", check_path, check_body, api)

    jobs = [("unsubscribe", path, one_click, form) for path in info["unsubscribe"]]
    jobs += [("confirm", path, b"", form) for path in info["confirm"]]
    jobs.sort(key=lambda job: hash(job[1]))  # interleave the two kinds
    started = time.perf_counter()
    checkers = [threading.Thread(target=checker) for _ in range(2)]
    for thread in checkers:
        thread.start()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda job: timed(*job), jobs))
    done.set()
    for thread in checkers:
        thread.join()
    return time.perf_counter() - started


def run_alone(base: str, paths: list[str], threads: int, results: Results) -> None:
    """One-click unsubscribes with nothing else on the server: the latency the burst is compared to."""
    def timed(path: str) -> None:
        started = time.perf_counter()
        status = _post(base, path, b"List-Unsubscribe=One-Click", {"Content-Type": "application/x-www-form-urlencoded"})
        results.add("one-click-alone", time.perf_counter() - started, status)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(timed, paths))


def _percentiles(rows: list) -> tuple[float, float]:
    times = sorted(seconds for seconds, _status in rows)
    return statistics.median(times) * 1000, times[min(len(times) - 1, int(len(times) * 0.99))] * 1000


def report(results: Results, wall: float, events: dict[str, int], seeded_confirmed: int) -> bool:
    """Print the figures; whether the run held (no 5xx, nothing lost)."""
    held = True
    print(f"{'kind':<12} {'requests':>8} {'2xx':>6} {'4xx':>5} {'5xx':>5} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for kind, rows in sorted(results.by_kind.items()):
        times = sorted(seconds for seconds, _status in rows)
        ok = sum(1 for _s, status in rows if 200 <= status < 300)
        client_errors = sum(1 for _s, status in rows if 400 <= status < 500)
        server_errors = sum(1 for _s, status in rows if status >= 500)
        held &= server_errors == 0
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(f"{kind:<12} {len(rows):>8} {ok:>6} {client_errors:>5} {server_errors:>5} {len(rows) / wall:>8.1f} "
              f"{statistics.median(times) * 1000:>8.1f} {p99 * 1000:>8.1f}")
    ok = {kind: sum(1 for _s, status in rows if 200 <= status < 300) for kind, rows in results.by_kind.items()}
    ok["unsubscribe"] = ok.get("unsubscribe", 0) + ok.pop("one-click-alone", 0)
    if "one-click-alone" in results.by_kind and "unsubscribe" in results.by_kind:
        alone, burst = _percentiles(results.by_kind["one-click-alone"]), _percentiles(results.by_kind["unsubscribe"])
        print(f"one-click unsubscribe alone (baseline): p50 {alone[0]:.1f} ms, p99 {alone[1]:.1f} ms; under the burst: "
              f"p50 {burst[0]:.1f} ms, p99 {burst[1]:.1f} ms ({burst[1] / alone[1]:.2f}x); target p99 < 250 ms under "
              f"the burst: {'met' if burst[1] < 250 else 'NOT met'}")
    unsubscribed = events.get("unsubscribed", 0)
    confirmed = events.get("confirmed", 0) - seeded_confirmed
    print(f"wall {wall:.1f}s; ledger: unsubscribed {unsubscribed} (2xx {ok.get('unsubscribe', 0)}), "
          f"confirmed {confirmed} (2xx {ok.get('confirm', 0)})")
    lost = unsubscribed != ok.get("unsubscribe", 0) or confirmed != ok.get("confirm", 0)
    print("nothing lost" if not lost else "LOST OR DOUBLED EVENTS")
    return held and not lost


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="a short run (~20-30 s) for CI")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--unsubscribes", type=int, default=None)
    parser.add_argument("--confirms", type=int, default=None)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--profile", action="store_true", help="sample the workers with py-spy during the burst")
    args = parser.parse_args(argv)
    unsubscribes = args.unsubscribes or (300 if args.quick else 3000)
    confirms = args.confirms or (150 if args.quick else 1500)
    name, url = create_database(args.database_url)
    process, files = None, tempfile.mkdtemp(prefix="portal-load-")
    try:
        started = time.perf_counter()
        info = seed(url, unsubscribes, confirms, run_files(files))
        print(f"seeded {unsubscribes} subscribers and {confirms} pending signups in {time.perf_counter() - started:.1f}s")
        port = free_port()
        process = start_gunicorn(url, port, run_files(files))
        results = Results()
        alone = max(20, len(info["unsubscribe"]) // 10)
        run_alone(f"http://127.0.0.1:{port}", info["unsubscribe"][:alone], 4, results)
        info["unsubscribe"] = info["unsubscribe"][alone:]
        profiler = start_profiler(process.pid, os.path.join(files, "burst.txt")) if args.profile else None
        wall = run_burst(f"http://127.0.0.1:{port}", info, args.threads, results)
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(60)
            summarise_profile(os.path.join(files, "burst.txt"))
        return 0 if report(results, wall, count_events(url), seeded_confirmed=unsubscribes) else 1
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
        drop_database(args.database_url, name)
        shutil.rmtree(files, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
