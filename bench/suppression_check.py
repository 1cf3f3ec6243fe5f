"""Bulk suppression check through the HTTP API, against a bare-Flask baseline in the same run.

    /work/main/.venv/bin/python bench/suppression_check.py            # 1M addresses vs 1M entries
    /work/main/.venv/bin/python bench/suppression_check.py --quick    # 200k vs 20k, for CI

Creates a scratch PostgreSQL database, COPYs the suppressions in, serves the portal and the
baseline with the same gunicorn command, sends the addresses in calls of 10,000 from a few
client threads, checks every answer, and prints addresses per second for both. A second
baseline runs in-process on the index the portal's workers built (the same files): as many
processes as gunicorn has workers parse the same bodies, hash the addresses and look them up
(``SuppressionIndex.check``), with no HTTP, Flask, validation or answer.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

import psycopg

os.environ.setdefault("PORTAL_LEDGER_CREATE_KEYS", "1")  # development ledger keys: a bench is not production
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import suppression_harness as harness  # noqa: E402


def load_suppressions(url: str, account: str, list_id: str, count: int) -> None:
    """COPY ``count`` entries: 90% account scope, 5% list scope, 5% global."""
    now = datetime.now(timezone.utc).isoformat()
    scopes = {0: f"global\tglobal\t\\N\t\\N", 1: f"list\tlist:{list_id}\t{account}\t{list_id}"}
    default = f"account\taccount:{account}\t{account}\t\\N"
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        # The rows are known good: skip the per-row foreign-key triggers while loading.
        cur.execute("SET session_replication_role = replica")
        with cur.copy("COPY suppressions (email_hash, email, scope, scope_key, account_id, list_id, reason, "
                      "source, created_at) FROM STDIN") as copy:
            for start in range(0, count, 50_000):
                lines = []
                for i in range(start, min(start + 50_000, count)):
                    email = harness.address(i)
                    lines.append(f"{harness.email_hash(email)}\t{email}\t{scopes.get(i % 20, default)}"
                                 f"\tmanual\tbench\t{now}\n")
                copy.write("".join(lines))
        cur.execute("ANALYZE suppressions")


def batches(total: int, stored: int, batch: int, hit_every: int) -> tuple[list[bytes], int]:
    """Request bodies of ``batch`` addresses; every ``hit_every``-th one is suppressed."""
    bodies, hits = [], 0
    for start in range(0, total, batch):
        emails = []
        for j in range(start, min(start + batch, total)):
            if j % hit_every == 0:
                emails.append(harness.address((j // hit_every) % stored))
                hits += 1
            else:
                emails.append(harness.address(stored + j))
        bodies.append(json.dumps({"emails": emails}).encode())
    return bodies, hits


def run(port: int, path: str, bodies: list[bytes], headers: dict, clients: int) -> tuple[float, int]:
    """Send every body from ``clients`` threads: (seconds, suppressed addresses answered)."""
    queue = list(reversed(bodies))
    lock = threading.Lock()
    found = [0]
    failures: list = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            status, answer = harness.post_json(conn, path, body, headers)
            if status != 200:
                failures.append((status, answer[:200]))
                break
            hits = len(json.loads(answer)["suppressed"])
            with lock:
                found[0] += hits
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"failed calls: {failures[:3]}")
    return elapsed, found[0]


def inprocess_rate(directory: str, bodies: list[bytes], account: str, processes: int) -> float:
    """Addresses/s of ``processes`` processes parsing, hashing and looking up ``bodies`` in-process."""
    sys.path.insert(0, harness.ROOT)
    from portal.suppression import compact
    from portal.suppression.cache import SuppressionIndex

    generation = compact.Generation(directory, compact.current(directory))
    context = multiprocessing.get_context("fork")
    start, done = context.Barrier(processes + 1), context.Queue()

    def work(mine: list[bytes]) -> None:
        index = SuppressionIndex()
        index._adopt(generation, {}, generation.seq)
        index.check(json.loads(mine[0])["emails"], account)  # touch the pages, as the warm-up did
        start.wait()
        found = sum(len(index.check(json.loads(body)["emails"], account)) for body in mine)
        done.put(found)

    workers = [context.Process(target=work, args=(bodies[n::processes],)) for n in range(processes)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    found = sum(done.get() for _ in workers)
    elapsed = time.perf_counter() - began
    for worker in workers:
        worker.join()
    return sum(len(json.loads(body)["emails"]) for body in bodies) / elapsed, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--suppressions", type=int, default=1_000_000)
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--hit-every", type=int, default=10, help="one address in N is suppressed (default 10)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="200k addresses (20 calls) against 20k suppressions")
    args = parser.parse_args()
    if args.quick:
        args.suppressions, args.addresses = 20_000, 200_000

    with harness.scratch_database(args.database) as url:
        account, list_id, key = harness.setup_account(url)
        started = time.perf_counter()
        load_suppressions(url, account, list_id, args.suppressions)
        print(f"loaded {args.suppressions:,} suppressions by COPY in {time.perf_counter() - started:.1f} s")
        bodies, expected = batches(args.addresses, args.suppressions, args.batch, args.hit_every)
        headers = {"Authorization": f"Bearer {key}"}

        with harness.serve("bench.suppression_bare:app") as port:
            run(port, "/bare/check", bodies[:4], {}, args.clients)
            base_seconds, _ = run(port, "/bare/check", bodies, {}, args.clients)
        directory = tempfile.mkdtemp(prefix="portal-check-index-")
        with harness.serve("wsgi:app", url, {"PORTAL_SUPPRESSION_INDEX_DIR": directory}) as port:
            path = f"/api/v1/accounts/{account}/suppressions/check"
            started = time.perf_counter()
            for _round in range(20):  # until every worker has loaded its index: a round of quick answers
                seconds, _ = run(port, path, bodies[:1] * (4 * args.clients), headers, 4 * args.clients)
                if seconds < 1:
                    break
            print(f"warm-up (each worker loads its index) {time.perf_counter() - started:.1f} s")
            seconds, found = run(port, path, bodies, headers, args.clients)
        if found != expected:
            raise SystemExit(f"wrong answers: {found} suppressed reported, {expected} expected")
        workers = int(harness.GUNICORN[harness.GUNICORN.index("-w") + 1])
        try:
            inproc_rate, inproc_found = inprocess_rate(directory, bodies, account, workers)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        if inproc_found != expected:
            raise SystemExit(f"in-process baseline: {inproc_found} suppressed, {expected} expected")

    base_rate, rate = args.addresses / base_seconds, args.addresses / seconds
    print(f"calls: {len(bodies)} x {args.batch:,} addresses, {args.clients} client connections, "
          f"{expected:,} suppressed found (all correct)")
    print(f"baseline (bare Flask, parse + count): {base_rate:,.0f} addresses/s ({base_seconds:.2f} s)")
    print(f"portal bulk check:                    {rate:,.0f} addresses/s ({seconds:.2f} s)")
    print(f"baseline (in-process parse + hash + look up in the same index, {workers} processes): "
          f"{inproc_rate:,.0f} addresses/s")
    print(f"ratio to bare Flask: {rate / base_rate:.2f}; ratio to in-process: {rate / inproc_rate:.2f} "
          f"(target 0.7: {'met' if rate >= 0.7 * inproc_rate else 'NOT met'}); target 900,000 addresses/s: "
          f"{'met' if rate >= 900_000 else 'NOT met'}")
    print(json.dumps({"figure": "bulk check", "rate": rate, "bare": base_rate, "inprocess": inproc_rate}))


if __name__ == "__main__":
    main()
