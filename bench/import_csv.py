"""Benchmark: import a generated CSV of --rows rows into a list; print rows/s and peak memory.

    python bench/import_csv.py [--rows 1000000] [--database-url URL] [--method double_opt_in ...]

Each method given (default: ``double_opt_in``, attested rows that become confirmed, and
``single_opt_in``, rows that each get a re-permission mail) is run as the product runs it: the
file is stored as an upload, then the import worker runs the job. Two baselines are measured
in the same run and the import's speed is quoted as a ratio of each: reading and checking the
same file with no database at all (decode, CSV, address validation, dates), and, on
PostgreSQL, a bare ``COPY`` of the same rows into a table of the same columns. A third, after
each import on PostgreSQL: the database alone writing the rows that import wrote (each table's
rows copied by one ``INSERT ... SELECT`` into the real table, with its indexes and constraints,
rolled back), the least an import into these tables can cost. Peak memory is the growth of the process's maximum resident set during the
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


#: The import's rows written again by the database alone (baseline 3): each table's rows of the
#: import copied by one INSERT ... SELECT into the real table (its indexes, constraints, WAL), in a
#: transaction rolled back. New account and list ids and shifted chain positions keep the unique
#: keys apart; nothing is read, checked or hashed. What an import cannot beat on this database.
FLOOR_STATEMENTS = [
    "INSERT INTO contacts (account_id, email, email_hash, name, created_at) "
    "SELECT :account_to, email, email_hash, name, created_at FROM contacts WHERE account_id = :account_id",
    "INSERT INTO signup_requests (contact_id, form_id, consent_text_id, list_ids, source, created_at, evidence) "
    "SELECT contact_id, form_id, consent_text_id, list_ids, source, created_at, evidence FROM signup_requests "
    "WHERE evidence->>'import_id' = :import_id",
    "INSERT INTO subscriptions (contact_id, list_id, status, requested_at, confirmed_at, last_contacted_at, "
    "soft_bounces, signup_request_id, updated_at) SELECT contact_id, :list_to, status, requested_at, confirmed_at, "
    "last_contacted_at, soft_bounces, signup_request_id, updated_at FROM subscriptions WHERE list_id = :list_id",
    "INSERT INTO consent_events (account_id, contact_id, seq, type, occurred_at, list_id, source, evidence, email, "
    "pii_salt, pii_commitments, prev_hash, hash, mac, actor, actor_key_id) SELECT account_id, contact_id, "
    "seq + 1000000, type, occurred_at, list_id, source, evidence, email, pii_salt, pii_commitments, prev_hash, "
    "hash, mac, actor, actor_key_id FROM consent_events WHERE source = 'import:' || :import_id",
    "INSERT INTO outbox_messages (channel, kind, account_id, recipient, payload, status, attempts, next_attempt_at, "
    "created_at, context) SELECT channel, kind, account_id, recipient, payload, status, attempts, next_attempt_at, "
    "created_at, context FROM outbox_messages WHERE context->'ledger'->>'source' = 'import:' || :import_id",
    "INSERT INTO import_refused_rows (import_id, row, email, email_hash, reason, detail) "
    "SELECT import_id, row, email, email_hash, reason, detail FROM import_refused_rows WHERE import_id = :import_id",
]


def database_floor(app, import_id: str, rows: int) -> float | None:
    """Rows per second of the database alone writing what the import wrote (PostgreSQL; see above)."""
    from sqlalchemy import text

    from portal.extensions import db
    from portal.imports.models import Import
    from tests.factories import create_list

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return None
        record = db.session.get(Import, import_id)
        target = create_list()
        ids = {"account_id": record.account_id, "list_id": record.list_id, "import_id": import_id,
               "account_to": target.account_id, "list_to": target.id}
        with db.engine.connect() as connection:
            transaction = connection.begin()
            start = time.perf_counter()
            for statement in FLOOR_STATEMENTS:
                connection.execute(text(statement), ids)
            elapsed = time.perf_counter() - start
            transaction.rollback()
        return rows / elapsed


def run(app, path: str, method: str) -> tuple[object, float, float]:
    """Store the file as an upload (timed apart) and run the import job; counts and seconds."""
    from portal.extensions import db
    from portal.imports.operations import worker
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
        return {"id": record.id, "rows": record.rows, "confirmed": record.confirmed, "pending": record.pending,
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
        floor = database_floor(app, counts["id"], counts["rows"])
        if floor:
            print(f"  baseline 3 (the database alone writing the same rows, INSERT ... SELECT): {floor:,.0f} rows/s;"
                  f" the import is {speed / floor:.2f} of it")
        print(f"  peak memory: max RSS grew {rss_growth:.1f} MiB during the import "
              f"(file {size / 2**20:.1f} MiB; max RSS {max_rss_mib():.1f} MiB)")
    if not args.no_verify:
        ok, seconds = verify(app)
        print(f"ledger verify: {'intact' if ok else 'TAMPERED'} in {seconds:.1f}s")


if __name__ == "__main__":
    main()
