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


def shared_index(quick: bool) -> list[tuple]:
    args = ["--entries", "2000000", "--known", "200000", "--calls", "8"] if quick else []
    figures = last_json(run("index_100m.py", *args, timeout=3600))
    entries, per_entry, per_dict = figures["entries"], figures["bytes_per_entry"], figures["dict_bytes_per_entry"]
    total, baseline = figures["total_pss"], figures["baseline_total"]
    rows = [(f"index bytes an entry ({entries:,} entries)", per_entry, "in-process dict, per worker", per_dict,
             per_entry / per_dict, "<= 40", per_entry <= 40),
            ("index, 4 workers' total PSS (GiB)", total / 2**30, "dict in each worker (GiB)", baseline / 2**30,
             total / baseline, "fits the machine (24 GiB)", total < 20 * 2**30),
            ("a respawned worker's load (s)", figures["respawn_load_s"], "-", None, None, "< 1 s",
             figures["respawn_load_s"] < 1)]
    return rows


def unsubscribe_links(quick: bool) -> list[tuple]:
    output = run("unsubscribe_links.py", "--calls", "1" if quick else "3")
    bare = float(re.search(r"baseline \(bare Flask, same JSON\):\s+([\d.]+)", output).group(1))
    new = float(re.search(r"new contacts:\s+([\d.]+)", output).group(1))
    known = float(re.search(r"existing contacts:\s+([\d.]+)", output).group(1))
    return [("unsubscribe-links, new contacts, links/s (SQLite)", new, "bare Flask, same JSON", bare, new / bare,
             ">= 30,000/s (PostgreSQL)", new >= 30_000),
            ("unsubscribe-links, existing contacts, links/s (SQLite)", known, "bare Flask, same JSON", bare,
             known / bare, ">= 60,000/s (PostgreSQL)", known >= 60_000)]


def ledger_export(quick: bool) -> list[tuple]:
    output = run("ledger_export.py", "--events", "50000" if quick else "1000000")
    rate = float(re.search(r"([\d,]+) events/s", output).group(1).replace(",", ""))
    peak = float(re.search(r"\(([\d.]+)x baseline;", output).group(1))
    return [("ledger export, events/s (SQLite)", rate, "none measured by this bench", None, None,
             ">= 150,000/s, 0.5 of COPY", False),
            ("ledger export, peak RSS / RSS after start", peak, "-", None, None, "flat", peak < 1.5)]


def burst(quick: bool) -> list[tuple]:
    output = run("load.py", *(["--quick"] if quick else []), "--database-url", SERVER)
    found = re.search(r"alone \(baseline\): p50 ([\d.]+) ms, p99 ([\d.]+) ms; under the burst: p50 ([\d.]+) ms, "
                      r"p99 ([\d.]+) ms", output)
    alone_p99, burst_p99 = float(found.group(2)), float(found.group(4))
    return [("one-click p99 under the campaign burst (ms)", burst_p99, "one-click alone, p99 (ms)", alone_p99,
             burst_p99 / alone_p99, "< 250 ms", burst_p99 < 250)]


BENCHES = {"bulk": bulk, "index": shared_index, "links": unsubscribe_links, "ledger": ledger_export, "burst": burst}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=sorted(BENCHES), action="append")
    args = parser.parse_args()
    rows, started = [], time.monotonic()
    for name in args.only or list(BENCHES):
        began = time.monotonic()
        try:
            rows.extend(BENCHES[name](args.quick))
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
