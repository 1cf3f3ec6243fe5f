"""Bulk suppression check through the HTTP API, against a bare-Flask baseline in the same run.

    /work/main/.venv/bin/python bench/suppression_check.py            # 1M addresses vs 1M entries
    /work/main/.venv/bin/python bench/suppression_check.py --quick    # 200k vs 20k, for CI

Creates a scratch PostgreSQL database, COPYs the suppressions in, serves the portal and the
baseline with the same gunicorn command, sends the addresses in calls of 10,000 from a few
client threads, checks every answer, and prints addresses per second for both.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
from datetime import datetime, timezone

import psycopg

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
        with harness.serve("wsgi:app", url) as port:
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

    base_rate, rate = args.addresses / base_seconds, args.addresses / seconds
    print(f"calls: {len(bodies)} x {args.batch:,} addresses, {args.clients} client connections, "
          f"{expected:,} suppressed found (all correct)")
    print(f"baseline (bare Flask, parse + count): {base_rate:,.0f} addresses/s ({base_seconds:.2f} s)")
    print(f"portal bulk check:                    {rate:,.0f} addresses/s ({seconds:.2f} s)")
    print(f"ratio to baseline: {rate / base_rate:.2f}; target 300,000 addresses/s: "
          f"{'met' if rate >= 300_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
