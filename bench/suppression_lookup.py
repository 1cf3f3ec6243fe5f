"""Single-address suppression lookups at 64 connections, against a bare-Flask baseline.

    .venv/bin/python bench/suppression_lookup.py [--quick] [--seconds 10] [--rounds 3] [--flask-only] [--sqlite]

Needs ``wrk`` (``apt-get install -y wrk``). Creates a scratch PostgreSQL database
(``--database`` names the server; ``--sqlite``: a SQLite file instead) with 100,000
suppressions, serves the portal and a bare Flask endpoint with the same gunicorn command,
drives each with wrk over loopback (64 connections, fixed duration; one address in ten
suppressed) in alternating rounds, and prints requests per second, the latency
percentiles and each round's ratio to the baseline. ``--flask-only`` adds the portal with its
lookup fast path off (``PORTAL_FAST_LOOKUP=0``), every lookup through the Flask route.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone

os.environ.setdefault("PORTAL_LEDGER_CREATE_KEYS", "1")  # development ledger keys: a bench is not production
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import suppression_harness as harness  # noqa: E402
from suppression_check import load_suppressions  # noqa: E402

LUA = """
local counter = 0
local prefix = "%(prefix)s"
local stored = %(stored)d
request = function()
  counter = counter + 1
  local i = counter * 7919 %% (stored * 10)
  if counter %% 10 == 0 then i = counter * 7919 %% stored else i = stored + i end
  return wrk.format("GET", prefix .. "user" .. i .. "@bench" .. (i %% 97) .. ".example", {%(headers)s})
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%.0f %%.0f %%.0f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def wrk(port: int, prefix: str, headers: str, stored: int, seconds: int, connections: int) -> dict:
    """Run wrk against ``prefix``: requests/s, errors, p50/p99/max latency (ms)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % {"prefix": prefix, "stored": stored, "headers": headers})
    try:
        done = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", script.name,
                               f"http://127.0.0.1:{port}"], check=True, capture_output=True, text=True)
        out = done.stdout
        if "RESULT" not in out or " 0 requests" in out:
            print(out, done.stderr, file=sys.stderr)
    finally:
        os.unlink(script.name)
    requests, errors, p50, p99, worst = map(int, re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+)", out).groups())
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"rate": rate, "requests": requests, "errors": errors, "p50": p50 / 1000, "p99": p99 / 1000,
            "max": worst / 1000}


@contextmanager
def scratch_sqlite():
    """A new, migrated SQLite database in a temporary directory: yields its URL."""
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{scratch}/bench.sqlite3"
        subprocess.run([os.path.join(harness.PYTHON_BIN, "flask"), "--app", "wsgi", "db", "upgrade"],
                       cwd=harness.ROOT, env={**os.environ, "DATABASE_URL": url}, check=True, capture_output=True)
        yield url


def load_sqlite(url: str, account: str, list_id: str, count: int) -> None:
    """The same entries as :func:`suppression_check.load_suppressions`, into SQLite."""
    now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    rows = []
    for i in range(count):
        email = harness.address(i)
        scope = {0: ("global", "global", None, None), 1: ("list", f"list:{list_id}", account, list_id)}.get(
            i % 20, ("account", f"account:{account}", account, None))
        rows.append((harness.email_hash(email), email, *scope, "manual", "bench", now))
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.executemany("INSERT INTO suppressions (email_hash, email, scope, scope_key, account_id, list_id, reason,"
                         " source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--suppressions", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each server (the median is shown)")
    parser.add_argument("--flask-only", action="store_true",
                        help="also the portal with PORTAL_FAST_LOOKUP=0 (every lookup through Flask)")
    parser.add_argument("--quick", action="store_true", help="10k suppressions, 3 s runs, one round")
    parser.add_argument("--sqlite", action="store_true", help="a scratch SQLite file instead of PostgreSQL")
    args = parser.parse_args()
    if args.quick:
        args.suppressions, args.seconds, args.rounds = 10_000, 3, 1
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    with (scratch_sqlite() if args.sqlite else harness.scratch_database(args.database)) as url:
        account, list_id, key = harness.setup_account(url)
        (load_sqlite if args.sqlite else load_suppressions)(url, account, list_id, args.suppressions)
        prefix = f"/api/v1/accounts/{account}/suppressions/"
        headers = f'["Authorization"] = "Bearer {key}"'
        targets = {"baseline (bare Flask)": ("bench.suppression_bare:app", None, "/bare/", "", {})}
        targets["portal lookup"] = ("wsgi:app", url, prefix, headers, {})
        if args.flask_only:
            targets["portal, Flask route"] = ("wsgi:app", url, prefix, headers, {"PORTAL_FAST_LOOKUP": "0"})
        with ExitStack() as stack:
            ports = {name: stack.enter_context(harness.serve(app, database, env))
                     for name, (app, database, *_rest, env) in targets.items()}
            for name, (_app, database, path, auth, _env) in targets.items():
                for _round in range(5):  # until every worker has loaded its index
                    if wrk(ports[name], path, auth, args.suppressions, 2, args.connections)["p99"] < 500:
                        break
            # Rounds alternate between the servers, so a change in the machine's other load
            # falls on both sides of each ratio.
            runs = {name: [] for name in targets}
            for _round in range(args.rounds):
                for name, (_app, _database, path, auth, _env) in targets.items():
                    runs[name].append(wrk(ports[name], path, auth, args.suppressions, args.seconds,
                                          args.connections))

    print(f"database: {'sqlite' if args.sqlite else 'postgresql'}, {args.suppressions:,} suppressions, "
          f"{args.connections} connections, {args.rounds} rounds of {args.seconds} s, "
          f"gunicorn {' '.join(harness.GUNICORN[1:7])}")
    base_runs = runs.pop("baseline (bare Flask)")
    ratios = {name: [run["rate"] / base["rate"] for run, base in zip(results, base_runs)]
              for name, results in runs.items()}
    middle = sorted(range(args.rounds), key=lambda i: ratios["portal lookup"][i])[args.rounds // 2]
    for name, figures in (("baseline (bare Flask)", base_runs[middle]),
                          *((name, results[middle]) for name, results in runs.items())):
        print(f"{name:22} {figures['rate']:8,.0f} req/s  p50 {figures['p50']:6.1f} ms  p99 {figures['p99']:6.1f} ms"
              f"  max {figures['max']:6.1f} ms  ({figures['requests']:,} requests, {figures['errors']} errors)")
    for name, values in ratios.items():
        print(f"{name}: ratio to baseline per round " + ", ".join(f"{value:.2f}" for value in values))
    ratio, p99 = ratios["portal lookup"][middle], max(run["p99"] for run in runs["portal lookup"])
    print(f"median ratio to baseline: {ratio:.2f} (target 0.85: {'met' if ratio >= 0.85 else 'NOT met'}); "
          f"worst p99 {p99:.1f} ms (target < 50 ms: {'met' if p99 < 50 else 'NOT met'})")
    print(json.dumps({"figure": "single lookup", "rate": runs["portal lookup"][middle]["rate"],
                      "bare": base_runs[middle]["rate"], "ratio": ratio, "p99_ms": p99}))


if __name__ == "__main__":
    main()
