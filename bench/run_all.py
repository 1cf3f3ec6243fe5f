"""Every bench, one table: figure, baseline of the same run, ratio, target, met or not.

    .venv/bin/python bench/run_all.py --quick      # small sizes: a few minutes on a 2-core machine
    .venv/bin/python bench/run_all.py              # the sizes the README quotes (much longer)

Runs each bench under ``bench/`` as its own process (PostgreSQL from ``BENCH_DATABASE_URL``,
default the local server), reads its figures from its output, and prints one row a figure.
A bench that fails or is not measured here says so in its row; ``--only NAME`` runs one.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def run(script: str, *args: str, timeout: float = 1800) -> str:
    """The output of ``bench/<script> args`` (stderr included when it fails)."""
    done = subprocess.run([sys.executable, os.path.join(HERE, script), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"{script} failed: {(done.stdout + done.stderr)[-400:]}")
    return done.stdout


def last_json(output: str) -> dict:
    """The last line of ``output`` that is a JSON object."""
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON summary in the output")


def bulk(quick: bool) -> list[tuple]:
    figures = last_json(run("suppression_check.py", *(["--quick"] if quick else [])))
    rate, inproc = figures["rate"], figures["inprocess"]
    return [("bulk check, addresses/s (HTTP, PostgreSQL)", rate, "in-process parse+hash+look-up", inproc,
             rate / inproc, ">= 0.7 and >= 900,000/s", rate / inproc >= 0.7 and rate >= 900_000)]


def single_lookup(quick: bool) -> list[tuple]:
    figures = last_json(run("suppression_lookup.py", *(["--quick"] if quick else [])))
    rate, bare, p99 = figures["rate"], figures["bare"], figures["p99_ms"]
    return [("single lookup, req/s at 64 connections (PostgreSQL)", rate, "bare Flask, same gunicorn", bare,
             rate / bare, ">= 0.85", rate / bare >= 0.85),
            ("single lookup, worst p99 (ms)", p99, "-", None, None, "< 50 ms", p99 < 50)]


def shared_index(quick: bool, entries: str | None = None) -> list[tuple]:
    args = ["--entries", entries] if entries else \
        ["--entries", "2000000", "--known", "200000", "--calls", "8"] if quick else []
    figures = last_json(run("index_100m.py", *args, timeout=3600 * 3))
    entries, per_entry, per_dict = figures["entries"], figures["bytes_per_entry"], figures["dict_bytes_per_entry"]
    total, baseline = figures["total_pss"], figures["baseline_total"]
    bulk, inproc = figures["bulk_per_s"], figures["bulk_inprocess_per_s"]
    rows = [(f"index bytes an entry ({entries:,} entries)", per_entry, "in-process dict, per worker", per_dict,
             per_entry / per_dict, "<= 40", per_entry <= 40),
            ("index, 4 workers' total PSS (GiB)", total / 2**30, "dict in each worker (GiB)", baseline / 2**30,
             total / baseline, "fits the machine (24 GiB)", total < 20 * 2**30),
            (f"bulk check, addresses/s ({entries:,} entries, 4 workers)", bulk, "in-process parse+hash+look-up",
             inproc, bulk / inproc, ">= 0.7 and >= 900,000/s", bulk / inproc >= 0.7 and bulk >= 900_000),
            ("a new worker's first bulk answer (s, imports included)", figures["new_worker_first_answer_s"],
             "its index load alone (s)", figures["respawn_load_s"], None, "< 1 s",
             figures["new_worker_first_answer_s"] < 1)]
    return rows


def index_100m(quick: bool) -> list[tuple]:
    """The 100,000,000-entry index (3.3 GB on disk, an hour or more): only when asked by name."""
    return shared_index(False, "100000000")


@contextmanager
def scratch_postgres():
    """An empty PostgreSQL database on the bench server (dropped afterwards): its URL."""
    import psycopg

    name = f"portal_runall_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield SERVER.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unsubscribe_links(quick: bool) -> list[tuple]:
    with scratch_postgres() as url:
        output = run("unsubscribe_links.py", "--calls", "1" if quick else "3", "--database-url", url)
    bare = float(re.search(r"baseline \(bare Flask, same JSON\):\s+([\d.]+)", output).group(1))
    new = float(re.search(r"new contacts:\s+([\d.]+)", output).group(1))
    known = float(re.search(r"existing contacts:\s+([\d.]+)", output).group(1))
    return [("unsubscribe-links, new contacts, links/s (PostgreSQL)", new, "bare Flask, same JSON", bare, new / bare,
             ">= 30,000/s", new >= 30_000),
            ("unsubscribe-links, existing contacts, links/s (PostgreSQL)", known, "bare Flask, same JSON", bare,
             known / bare, ">= 60,000/s", known >= 60_000)]


def ledger_export(quick: bool) -> list[tuple]:
    figures = last_json(run("ledger_export.py", "--events", "50000" if quick else "1000000",
                            "--database-url", SERVER))
    rate, copy, peak = figures["rate"], figures["copy"], figures["peak_ratio"]
    return [("ledger export, events/s (PostgreSQL)", rate, "COPY (SELECT row_to_json) TO STDOUT", copy, rate / copy,
             ">= 150,000/s and >= 0.5 of COPY", rate >= 150_000 and rate / copy >= 0.5),
            ("ledger export, peak RSS / RSS after start", peak, "-", None, None, "flat (< 1.5)", peak < 1.5)]


def burst(quick: bool) -> list[tuple]:
    output = run("load.py", *(["--quick"] if quick else []), "--database-url", SERVER)
    found = re.search(r"alone \(baseline\): p50 ([\d.]+) ms, p99 ([\d.]+) ms; under the burst: p50 ([\d.]+) ms, "
                      r"p99 ([\d.]+) ms", output)
    alone_p99, burst_p99 = float(found.group(2)), float(found.group(4))
    return [("one-click p99 under the campaign burst (ms)", burst_p99, "one-click alone, p99 (ms)", alone_p99,
             burst_p99 / alone_p99, "< 250 ms", burst_p99 < 250)]


def complaint_rates(quick: bool) -> list[tuple]:
    sizes = ["--delivered", "100000", "--others", "100000", "--accounts", "5000", "--runs", "6"] if quick else []
    f = last_json(run("complaint_rates.py", *sizes, "--database-url", SERVER, timeout=3600))
    return [("complaint rates, both windows (ms, PostgreSQL)", f["rates_ms"], "the same counts over the events",
             f["rates_baseline_ms"], f["rates_ms"] / f["rates_baseline_ms"], "below the baseline",
             f["rates_ms"] < f["rates_baseline_ms"]),
            ("console 30-day chart (ms)", f["chart_ms"], "daily counts over the events", f["chart_baseline_ms"],
             f["chart_ms"] / f["chart_baseline_ms"], "below the baseline", f["chart_ms"] < f["chart_baseline_ms"]),
            ("one complaint of a big sender (ms)", f["complaint_ms"], "a complaint with no rate to count",
             f["complaint_baseline_ms"], f["complaint_ms"] / f["complaint_baseline_ms"], "<= 2x the baseline",
             f["complaint_ms"] <= 2 * f["complaint_baseline_ms"]),
            (f"console accounts list, last page (ms, {f['accounts']:,} accounts)", f["list_last_ms"],
             "delivered counts summed per account", f["list_baseline_ms"], f["list_last_ms"] / f["list_baseline_ms"],
             "< 1 s a page", max(f["list_first_ms"], f["list_last_ms"], f["list_filtered_ms"]) < 1000)]


BENCHES = {"bulk": bulk, "lookup": single_lookup, "index": shared_index, "links": unsubscribe_links,
           "ledger": ledger_export, "burst": burst,
           "rates": complaint_rates}
#: Run only when named with --only (too long or too big for every run).
ON_REQUEST = {"index100m": index_100m}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=sorted({**BENCHES, **ON_REQUEST}), action="append",
                        help="run these only; index100m (the 100,000,000-entry index and its bulk row) runs only so")
    args = parser.parse_args()
    rows, started = [], time.monotonic()
    for name in args.only or list(BENCHES):
        began = time.monotonic()
        try:
            rows.extend({**BENCHES, **ON_REQUEST}[name](args.quick))
        except Exception as error:  # noqa: BLE001 - one failed bench is a row, not the end of the table
            rows.append((f"{name}: FAILED ({str(error)[:120]})", None, "-", None, None, "-", False))
        print(f"[{name}: {time.monotonic() - began:.0f} s]", file=sys.stderr)
    print(f"\n{'figure':<56} {'value':>14} {'baseline':<32} {'value':>14} {'ratio':>7}  {'target':<28} met")
    for figure, value, base_name, base, ratio, target, met in rows:
        print(f"{figure:<56} {_number(value):>14} {base_name:<32} {_number(base):>14} "
              f"{'-' if ratio is None else f'{ratio:.3f}':>7}  {target:<28} {'yes' if met else 'NO'}")
    print(f"\n{len(rows)} figures in {time.monotonic() - started:.0f} s"
          f"{' (quick sizes: read the ratios)' if args.quick else ''}")


def _number(value) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


if __name__ == "__main__":
    main()
