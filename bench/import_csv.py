"""Benchmark: import a generated CSV of --rows rows into a list; print rows/s and peak memory.

    python bench/import_csv.py [--rows 1000000] [--database-url URL] [--method double_opt_in ...]

Each method given (default: ``double_opt_in``, attested rows that become confirmed, and
``single_opt_in``, rows that each get a re-permission mail) is run as the product runs it: the
file is stored as an upload, then the import worker runs the job. Two baselines are measured
in the same run and the import's speed is quoted as a ratio of each: reading and checking the
same file with no database at all (decode, CSV, address validation, dates), and, on
PostgreSQL, a bare ``COPY`` of the same rows into a table of the same columns. Peak memory is the growth of the process's maximum resident set during the
import (``resource.getrusage``), next to the file's size, to show the file is streamed.
Without --database-url a fresh SQLite file in a temporary directory is used; a PostgreSQL URL
is migrated to head and gets a new account and list (use a scratch database).
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

os.environ.setdefault("PORTAL_LEDGER_CREATE_KEYS", "1")  # development ledger keys: a bench is not production
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def generate(path: str, rows: int) -> None:
    """A realistic file: mostly good rows, and some of every refusal reason."""
    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "consented_at", "last_contacted_at", "source"])
        for i in range(rows):
            kind = rng.random()
            consented = (now - timedelta(days=rng.randint(1, 700))).date().isoformat()
            email = f"person{i}@example{i % 97}.org"
            last = ""
            if kind < 0.01:
                email = f"person{i}-at-example.org"  # invalid
            elif kind < 0.02:
                email = f"info@example{i}.org"  # role address
            elif kind < 0.03:
                consented = (now - timedelta(days=900)).date().isoformat()  # stale
            elif kind < 0.04:
                email = f"person{max(i - 10, 0)}@example{max(i - 10, 0) % 97}.org"  # duplicate
            elif kind < 0.05:
                consented, last = "", (now - timedelta(days=30)).date().isoformat()  # no consent date
            writer.writerow([email, f"Person {i}", consented, last, "shop checkout"])


def max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(app, path: str) -> float:
    """Rows per second of reading and checking the file alone."""
    from portal.imports.checks import examine
    from portal.imports.reading import HashingReader, read_rows

    start, n = time.perf_counter(), 0
    with app.app_context(), open(path, "rb") as handle:
        now, stale = datetime.now(timezone.utc), app.config["PORTAL_STALE_AFTER"]
        for row in read_rows(HashingReader(handle)):
            examine(row, now, stale)
            n += 1
    return n / (time.perf_counter() - start)


def bare_copy(app, path: str) -> float | None:
    """Rows per second of a bare COPY of the file's rows into a table of its columns (PostgreSQL)."""
    from portal.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return None
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("CREATE TEMP TABLE bench_copy (email text, name text, consented_at text, "
                           "last_contacted_at text, source text)")
            start = time.perf_counter()
            with open(path, "rb") as handle, cursor.copy("COPY bench_copy FROM STDIN (FORMAT csv, HEADER)") as copy:
                for block in iter(lambda: handle.read(1 << 16), b""):
                    copy.write(block)
            cursor.execute("SELECT count(*) FROM bench_copy")
            (n,) = cursor.fetchone()
            connection.commit()
            elapsed = time.perf_counter() - start
            cursor.execute("DROP TABLE bench_copy")
            connection.commit()
            return n / elapsed
        finally:
            connection.close()


def run(app, path: str, method: str) -> tuple[object, float, float]:
    """Store the file as an upload (timed apart) and run the import job; counts and seconds."""
    from portal.extensions import db
    from portal.imports import worker
    from portal.imports.operations import create_import
    from tests.factories import create_list

    with app.app_context():
        mailing_list = create_list()
        start = time.perf_counter()
        with open(path, "rb") as handle:
            create_import(mailing_list.account, mailing_list, handle, file_name=os.path.basename(path),
                          attestation="Benchmark", consent_method=method, api_key_id=None)
        db.session.commit()
        stored = time.perf_counter() - start
        start = time.perf_counter()
        record = worker.run_one("bench")
        elapsed = time.perf_counter() - start
        assert record.status == "finished", (record.error_code, record.error_message)
        return {"rows": record.rows, "confirmed": record.confirmed, "pending": record.pending,
                "refused": dict(record.refused)}, stored, elapsed


def verify(app) -> tuple[bool, float]:
    from portal.consent.operations import verify as verify_ledger

    with app.app_context():
        start = time.perf_counter()
        report = verify_ledger()
        return report.ok, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="SQLAlchemy/PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--method", nargs="+", default=["double_opt_in", "single_opt_in"],
                        help="consent methods to run; single_opt_in also queues a re-permission mail per row")
    parser.add_argument("--no-verify", action="store_true", help="skip `ledger verify` afterwards")
    args = parser.parse_args()

    import flask_migrate

    from portal import create_app
    from portal.config import TestingConfig, database_url

    workdir = tempfile.mkdtemp(prefix="bench_import_")
    url = args.database_url or f"sqlite:///{workdir}/bench.sqlite3"
    if url.startswith(("postgres://", "postgresql://")):
        os.environ["DATABASE_URL"] = url
        url = database_url(workdir)
    config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI=url, TESTING=False)
    app = create_app(config)
    with app.app_context():
        flask_migrate.upgrade()
    path = os.path.join(workdir, "contacts.csv")
    start = time.perf_counter()
    generate(path, args.rows)
    size = os.path.getsize(path)
    print(f"generated {args.rows} rows, {size / 2**20:.1f} MiB in {time.perf_counter() - start:.1f}s")
    base = baseline(app, path)
    print(f"baseline 1 (read + check, no database): {base:,.0f} rows/s")
    copy_speed = bare_copy(app, path)
    if copy_speed:
        print(f"baseline 2 (bare COPY of the same rows): {copy_speed:,.0f} rows/s")
    backend = url.split(":", 1)[0]
    for method in args.method:
        rss_before = max_rss_mib()
        counts, stored, elapsed = run(app, path, method)
        rss_growth = max_rss_mib() - rss_before
        speed = counts["rows"] / elapsed
        against_copy = f", {speed / copy_speed:.2f} x bare COPY" if copy_speed else ""
        print(f"import on {backend} ({method}): {counts['rows']} rows in {elapsed:.1f}s = {speed:,.0f} rows/s "
              f"({speed / base:.2f} x read + check{against_copy}); upload stored in {stored:.1f}s")
        print(f"  confirmed {counts['confirmed']}, pending {counts['pending']}, refused {counts['refused']}")
        print(f"  peak memory: max RSS grew {rss_growth:.1f} MiB during the import "
              f"(file {size / 2**20:.1f} MiB; max RSS {max_rss_mib():.1f} MiB)")
    if not args.no_verify:
        ok, seconds = verify(app)
        print(f"ledger verify: {'intact' if ok else 'TAMPERED'} in {seconds:.1f}s")


if __name__ == "__main__":
    main()
