"""100,000,000 suppressions served by 4 gunicorn workers from one shared index, on this machine.

    .venv/bin/python bench/index_100m.py                        # 100M entries: 3.3 GB on disk, deleted after
    .venv/bin/python bench/index_100m.py --entries 2000000      # the same, smaller (run_all --quick)

A table of 100M rows cannot be loaded into this machine's PostgreSQL in a bench's time, so the
generation (the files every worker maps: :mod:`portal.suppression.compact`) is written
directly, with the same writer the portal's build uses: ``--known`` entries are the real
addresses ``harness.address(i)`` of the bench account (their SHA-256 digests), the rest random
digests. It is marked exact as of the scratch database's empty feed, so the workers map it as
they would one they had built. The bench then serves it with ``gunicorn -w 4``, checks that
every known address is answered suppressed and no other is, and prints: the build time and
the builder's peak memory, the time to open a generation, each worker's resident memory (RSS
and PSS from ``/proc/<pid>/smaps_rollup``), the machine's total, a respawned worker's time to
its first answer, and, beside each, the baseline of this same run: the in-process dict index
the portal used before (its bytes an entry measured here on ``--baseline-entries``, times the
entries and the workers).
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

os.environ.setdefault("PORTAL_LEDGER_CREATE_KEYS", "1")  # development ledger keys: a bench is not production
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import suppression_check  # noqa: E402
import suppression_harness as harness  # noqa: E402

CHUNK = 1_000_000


def records(entries: int, known: int, account_index: int, seed: int = 21):
    """RECORD arrays: ``known`` real bench addresses first, then random digests."""
    from portal.suppression import compact

    rng = np.random.default_rng(seed)
    now = compact.microseconds(compact.EPOCH.now(compact.EPOCH.tzinfo))
    account_code, global_code = compact.code("account", "manual"), compact.code("global", "complaint")
    for start in range(0, entries, CHUNK):
        size = min(CHUNK, entries - start)
        chunk = np.empty(size, dtype=compact.RECORD)
        real = max(0, min(size, known - start))
        if real:
            blob = b"".join(hashlib.sha256(harness.address(i).encode()).digest()[:16]
                            for i in range(start, start + real))
            halves = np.frombuffer(blob, dtype=">u8").reshape(-1, 2)
            chunk["hi"][:real], chunk["lo"][:real] = halves[:, 0], halves[:, 1]
        chunk["hi"][real:] = rng.integers(0, 2**64, size - real, dtype=np.uint64, endpoint=False)
        chunk["lo"][real:] = rng.integers(0, 2**64, size - real, dtype=np.uint64, endpoint=False)
        chunk["at"] = now - rng.integers(0, 10**13, size)
        chunk["account"] = account_index
        chunk["list"] = 0
        chunk["code"] = np.where(rng.random(size) < 0.05, global_code, account_code)
        chunk["account"][chunk["code"] == global_code] = 0
        yield chunk


def build(directory: str, database_url: str, entries: int, known: int, account: str) -> tuple[str, float]:
    """Write and publish the generation: (its name, seconds)."""
    from portal import create_app
    from portal.extensions import db
    from portal.suppression import cache, compact

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url.replace("postgresql://", "postgresql+psycopg://")})
    with app.app_context():
        with db.engine.connect() as connection:
            mark = cache.fingerprint(connection, 0)
        db.engine.dispose()
    started = time.perf_counter()
    name = compact.write(directory, compact.sorted_chunks(records(entries, known, 1), directory), seq=0,
                         fingerprint=mark, strings=[None, account])
    compact.publish(directory, name)
    return name, time.perf_counter() - started


def open_time(directory: str, name: str) -> float:
    """Seconds to map a generation and answer one lookup from it (in a fresh process)."""
    code = ("import sys,time; sys.path.insert(0, %r); from portal.suppression import compact;"
            "t=time.perf_counter(); g=compact.Generation(%r, %r);"
            "g.positions(1, 2); print(time.perf_counter()-t)") % (harness.ROOT, directory, name)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=harness.ROOT)
    return float(out.stdout.strip())


def dict_bytes_per_entry(count: int) -> float:
    """The previous design's cost: a dict digest -> entry tuple, per entry, in a fresh process."""
    code = f"""
import hashlib, os, sys
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
before = rss()
created = '2026-12-01T10:00:00.123456Z'
index = {{hashlib.sha256(f'user{{i}}@bench.example'.encode()).digest():
         ('account', 'acc', None, 'manual', created) for i in range({count})}}
print((rss() - before) / {count})
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as source:
        return [int(p) for p in source.read().split()]


def memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes from ``/proc/<pid>/smaps_rollup``."""
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as source:
        for line in source:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:"):
                values[parts[0]] = int(parts[1]) * 1024
    return values["Rss:"], values["Pss:"]


def check_bodies(known: int, calls: int, batch: int) -> list[bytes]:
    """Bulk check bodies: one address in ten known, the others not."""
    rng = np.random.default_rng(7)
    bodies = []
    for _ in range(calls):
        picks = rng.integers(0, known, batch // 10)
        emails = [harness.address(int(i)) for i in picks] + [f"nobody{int(i)}@else.example"
                                                            for i in rng.integers(0, 10**12, batch - batch // 10)]
        bodies.append(json.dumps({"emails": emails}).encode())
    return bodies


def check_all(port: int, account: str, key: str, bodies: list[bytes], batch: int, threads: int) -> float:
    """Send the bulk checks from ``threads`` clients, verifying every answer: addresses/s."""
    calls = len(bodies)
    path = f"/api/v1/accounts/{account}/suppressions/check"
    headers = {"Authorization": f"Bearer {key}"}
    errors: list[str] = []

    def client(mine: list[int]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for n in mine:
            status, answer = harness.post_json(conn, path, bodies[n], headers)
            found = json.loads(answer)["suppressed"] if status == 200 else None
            if found is None or {e["email"] for e in found} != set(json.loads(bodies[n])["emails"][:batch // 10]):
                errors.append(f"call {n}: {status}")
        conn.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=client, args=(list(range(t, calls, threads)),)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"wrong answers: {errors[:3]}")
    return calls * batch / elapsed


def lookup(port: int, account: str, key: str, email: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", f"/api/v1/accounts/{account}/suppressions/{email}", headers={"Authorization": f"Bearer {key}"})
    answer = json.loads(conn.getresponse().read())
    conn.close()
    return answer["suppressed"]


def wait_log(path: str, pattern: str, count: int, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path) as source:
            found = re.findall(pattern, source.read())
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise SystemExit(f"timed out waiting for {pattern!r} in {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000_000)
    parser.add_argument("--known", type=int, default=1_000_000, help="real addresses among the entries")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--calls", type=int, default=40, help="bulk checks of 10,000 addresses sent")
    parser.add_argument("--dir", default=None, help="where the generation is written (a new directory in it)")
    parser.add_argument("--baseline-entries", type=int, default=300_000)
    parser.add_argument("--server", default=os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    known = min(args.known, args.entries)
    directory = tempfile.mkdtemp(prefix="portal-index-100m-", dir=args.dir)
    rows = []
    try:
        with harness.scratch_database(args.server) as url:
            account, _list, key = harness.setup_account(url)
            name, built = build(directory, url, args.entries, known, account)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            size = sum(os.path.getsize(os.path.join(directory, name + ext)) for ext in (".keys", ".rest"))
            opened = open_time(directory, name)
            per_dict = dict_bytes_per_entry(args.baseline_entries)
            log = os.path.join(directory, "gunicorn.log")
            port = harness.free_port()
            command = [os.path.join(harness.PYTHON_BIN, "gunicorn"), "-w", str(args.workers), "-k", "gthread",
                       "--threads", "8", "--log-level", "info", "--error-logfile", log, "-b", f"127.0.0.1:{port}",
                       "wsgi:app"]
            env = {**os.environ, "DATABASE_URL": url, "PORTAL_SUPPRESSION_INDEX_DIR": directory}
            launched = time.perf_counter()
            server = subprocess.Popen(command, cwd=harness.ROOT, env=env)
            try:
                while True:
                    try:
                        assert lookup(port, account, key, harness.address(0))
                        break
                    except (OSError, http.client.HTTPException):
                        time.sleep(0.05)
                first_answer = time.perf_counter() - launched
                loads = wait_log(log, r"suppression index loaded: \d+ addresses in ([\d.]+) s", args.workers, 120)
                assert not lookup(port, account, key, "nobody@else.example")
                bodies = check_bodies(known, args.calls, 10_000)
                rate = check_all(port, account, key, bodies, 10_000, 4)
                workers = children(server.pid)
                # A new worker: end one, time the one gunicorn starts in its place to its first load.
                os.kill(workers[0], signal.SIGTERM)
                respawn = float(wait_log(log, r"suppression index loaded: \d+ addresses in ([\d.]+) s",
                                         args.workers + 1, 120)[-1])
                time.sleep(0.5)
                rate_after = check_all(port, account, key, bodies[:max(8, args.calls // 4)], 10_000, 4)
                workers = children(server.pid)
                usage = [(pid, *memory(pid)) for pid in [server.pid] + workers]
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=60)
            # A real new worker on the machine's index, from its start to its first bulk answer
            # (imports, app, map and catch-up included): a server of one worker, nothing else on it.
            port = harness.free_port()
            launched = time.perf_counter()
            single = subprocess.Popen(command[:1] + ["-w", "1"] + command[3:-3] + ["-b", f"127.0.0.1:{port}", "wsgi:app"],
                                      cwd=harness.ROOT, env=env)
            try:
                path = f"/api/v1/accounts/{account}/suppressions/check"
                while True:
                    try:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                        status, answer = harness.post_json(conn, path, bodies[0], {"Authorization": f"Bearer {key}"})
                        conn.close()
                    except (OSError, http.client.HTTPException):
                        time.sleep(0.02)
                        continue
                    assert status == 200 and len(json.loads(answer)["suppressed"]) == 1_000, status
                    break
                new_worker = time.perf_counter() - launched
            finally:
                single.send_signal(signal.SIGTERM)
                single.wait(timeout=60)
            inproc, found = suppression_check.inprocess_rate(directory, bodies, account, 2)
            assert found == len(bodies) * 1_000, found
    finally:
        shutil.rmtree(directory, ignore_errors=True)

    gib = 1024 ** 3
    total_pss = sum(pss for _pid, _rss, pss in usage)
    print(f"\nShared suppression index: {args.entries:,} entries, {args.workers} gunicorn workers "
          f"(gthread x 8), this machine ({os.cpu_count()} cores)")
    print(f"  on disk: {size / gib:.2f} GiB = {size / args.entries:.1f} bytes an entry "
          f"(baseline, the in-process dict: {per_dict:.0f} bytes an entry in each worker, measured on "
          f"{args.baseline_entries:,})")
    print(f"  build: {built:.1f} s ({args.entries / built:,.0f} entries/s), builder's peak RSS {peak / gib:.2f} GiB")
    print(f"  open (map + first lookup, fresh process): {opened * 1000:.1f} ms")
    print(f"  workers' load (map + catch up with the feed): {', '.join(f'{float(s):.2f} s' for s in loads)}")
    print(f"  server start to first answer (imports included): {first_answer:.2f} s; a respawned worker's load: "
          f"{respawn:.2f} s; a new worker's first bulk answer (a one-worker server, imports included): "
          f"{new_worker:.2f} s")
    print(f"  bulk check over HTTP: {rate:,.0f} addresses/s (after the respawn: {rate_after:,.0f}); every known "
          f"address answered suppressed, every other not")
    print(f"  baseline (in-process parse + hash + look up in the same files, 2 processes): {inproc:,.0f} "
          f"addresses/s; ratio {rate / inproc:.2f}")
    print(f"  {'process':<10} {'pid':>8} {'RSS MiB':>10} {'PSS MiB':>10}")
    for n, (pid, rss, pss) in enumerate(usage):
        print(f"  {'master' if n == 0 else f'worker {n}':<10} {pid:>8} {rss / 2**20:>10.0f} {pss / 2**20:>10.0f}")
    baseline_total = per_dict * args.entries * args.workers
    print(f"  machine total (PSS): {total_pss / gib:.2f} GiB; baseline (dict in each worker): "
          f"{baseline_total / gib:.1f} GiB; ratio {total_pss / baseline_total:.3f}")
    print("  (the mapped pages of the index are counted once across the workers by PSS; pages not yet read "
          "stay on disk)")
    print(json.dumps({"entries": args.entries, "bytes_per_entry": size / args.entries, "dict_bytes_per_entry": per_dict,
                      "build_s": built, "open_ms": opened * 1000, "respawn_load_s": respawn,
                      "first_answer_s": first_answer, "new_worker_first_answer_s": new_worker, "bulk_per_s": rate, "bulk_inprocess_per_s": inproc, "total_pss": total_pss,
                      "baseline_total": baseline_total, "workers": [dict(pid=p, rss=r, pss=s) for p, r, s in usage]}))


if __name__ == "__main__":
    main()
