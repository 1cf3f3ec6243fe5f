"""Benchmark: the complaint rates of a sender of a million mails a month, and the console's list
of many accounts, on PostgreSQL.

    python bench/complaint_rates.py [--delivered 1000000] [--others 1000000] [--accounts 20000] \
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--runs 20]

A scratch database is created next to ``--database-url`` and dropped afterwards. One account gets
``--delivered`` ``delivered`` events spread over the last 30 days and 300 complaints; ``--others``
more events belong to 20 other accounts; the hourly counts are filled from them as the migration
does. Then ``--accounts`` more accounts each get a delivered count every day of the 30 and one in
ten a few complaints. Printed, each the median of ``--runs``, each beside a baseline of the same
run:

- ``current_rates`` (both windows: the query the policy runs after every complaint and ``GET
  /accounts/<id>`` answers), read from the hourly counts; baseline: the same two counts taken
  over ``delivery_events`` itself (with an ``(account_id, type, at)`` index, vacuumed so that
  PostgreSQL can scan the index only);
- the console's 30-day chart (daily counts from the hourly counts); baseline: the same daily
  counts taken over ``delivery_events``;
- a whole ``file_complaint`` (complaint, suppression, ledger, policy, mail) for that sender;
  baseline: a ``too_frequent`` complaint of an account with no deliveries (no rate to count);
- the console's accounts list (``portal/ops/listing.py``): its first page by rate, its last
  page, a page filtered by the lowest rate; baseline: the one scan the list cannot avoid, the
  long window's delivered counts summed per account.

The last line is a JSON object of every figure (``bench/run_all.py`` reads it).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("PORTAL_LEDGER_CREATE_KEYS", "1")  # development ledger keys: a bench is not production
sys.path.insert(0, ROOT)

from portal import create_app  # noqa: E402
from ledger_export import scratch_database as scratch  # noqa: E402  (bench/ is on the path)




def median_ms(function, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def interleaved_ms(function, baseline, runs: int) -> tuple[float, float]:
    """The medians of ``function`` and ``baseline``, run in turn, so the database's growth and the
    machine's load weigh on both alike."""
    times: tuple[list, list] = ([], [])
    for _ in range(runs):
        for measured, target in ((function, times[0]), (baseline, times[1])):
            start = time.perf_counter()
            measured()
            target.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def fill(account_id: str, others: list[str], delivered: int, spread: int) -> None:
    """The events, generated inside PostgreSQL (one INSERT ... SELECT generate_series each)."""
    from sqlalchemy import text

    from portal.extensions import db

    statement = text("""INSERT INTO delivery_events (account_id, message_id, type, email_hash, at, created_at)
        SELECT :account, :prefix || g, 'delivered', md5(g::text) || md5((g + 1)::text),
               now() - (g % 2592000) * interval '1 second', now() FROM generate_series(1, :n) g""")
    db.session.execute(statement, {"account": account_id, "prefix": "<big-", "n": delivered})
    for index, other in enumerate(others):
        db.session.execute(statement, {"account": other, "prefix": f"<o{index}-", "n": spread})
    db.session.commit()
    db.session.execute(text("""INSERT INTO delivery_counts (account_id, hour, delivered)
        SELECT account_id, date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*)
        FROM delivery_events WHERE type = 'delivered' GROUP BY 1, 2"""))
    db.session.execute(text("CREATE INDEX bench_events_account_type_at ON delivery_events (account_id, type, at)"))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE delivery_events"))
        conn.execute(text("VACUUM ANALYZE delivery_counts"))


def fill_accounts(n: int) -> None:
    """``n`` accounts, each with a delivered count every day of the 30, one in ten with complaints."""
    from sqlalchemy import text

    from portal.extensions import db

    db.session.execute(text("""INSERT INTO accounts (id, name, postal_address, contact_email, locale, status,
                                                     created_at, updated_at)
        SELECT md5('bench-account-' || g), 'Bench ' || lpad(g::text, 6, '0'), 'Jl. 1', 'b' || g || '@x.example', 'en',
               'active', now() - g * interval '1 minute', now() FROM generate_series(1, :n) g"""), {"n": n})
    db.session.execute(text("""INSERT INTO delivery_counts (account_id, hour, delivered)
        SELECT a.id, date_trunc('hour', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - d * interval '1 day',
               50 + abs(hashtext(a.id || d)) % 2000
        FROM accounts a, generate_series(0, 29) d WHERE a.name LIKE 'Bench %'"""))
    db.session.execute(text("""INSERT INTO complaints (account_id, category, source, message_ref, evidence, created_at)
        SELECT a.id, 'not_requested', 'web', '<bench-' || c || '@' || a.id || '>', '{}', now() - c * interval '1 hour'
        FROM accounts a, generate_series(1, 4) c
        WHERE a.name LIKE 'Bench %' AND abs(hashtext(a.id)) % 10 = 0 AND c <= 1 + abs(hashtext(a.id)) % 4"""))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("accounts", "delivery_counts", "complaints"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))


def summed_delivered() -> int:
    """The list's baseline: the long window's delivered counts summed per account (one scan)."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from portal.db import utcnow
    from portal.extensions import db
    from portal.suppression.models import hour_of
    from portal.suppression.models import DeliveryCount

    start = hour_of(utcnow() - timedelta(days=30))
    return len(db.session.execute(select(DeliveryCount.account_id, func.sum(DeliveryCount.delivered))
                                  .where(DeliveryCount.hour >= start).group_by(DeliveryCount.account_id)).all())


def daily_events(account_id: str) -> int:
    """The chart's baseline: the daily delivered counts taken over the events themselves."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from portal.db import utcnow
    from portal.extensions import db
    from portal.suppression.models import DeliveryEvent

    day = func.date_trunc("day", DeliveryEvent.at)
    return len(db.session.execute(select(day, func.count()).where(
        DeliveryEvent.account_id == account_id, DeliveryEvent.type == "delivered",
        DeliveryEvent.at >= utcnow() - timedelta(days=30)).group_by(day)).all())


def count_events(account_id: str, starts) -> list[int]:
    """The baseline: the same delivered counts taken over the events themselves."""
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.suppression.models import DeliveryEvent

    return list(db.session.execute(
        select(*[func.count().filter(DeliveryEvent.at >= start) for start in starts])
        .where(DeliveryEvent.account_id == account_id, DeliveryEvent.type == "delivered",
               DeliveryEvent.at >= min(starts))).one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delivered", type=int, default=1_000_000)
    parser.add_argument("--others", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=20_000, help="accounts in the console's list")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    url, drop = scratch(args.database_url)
    try:
        run(url, args)
    finally:
        drop()


def run(url: str, args) -> None:
    import flask_migrate
    from sqlalchemy import text

    from portal.accounts import operations as accounts
    from portal.complaints import operations as complaints
    from portal.complaints import rates
    from portal.extensions import db
    from portal.subscriptions import operations as subscriptions

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PORTAL_OUTBOX_DIR": "/tmp/bench-rates-outbox"})
    with app.app_context():
        flask_migrate.upgrade()
        big = accounts.create_account(name="Big", postal_address="Jl. 1", contact_email="o@big.example")
        others = [accounts.create_account(name=f"O{i}", postal_address="Jl. 2", contact_email=f"o{i}@x.example").id
                  for i in range(20)]
        db.session.commit()
        start = time.perf_counter()
        fill(big.id, others, args.delivered, args.others // 20)
        print(f"inserted {args.delivered + args.others:,} delivered events in {time.perf_counter() - start:.1f} s")
        for i in range(300):
            contact = subscriptions.get_or_create_contact(big, f"person{i}@example.org")
            complaints.file_complaint(contact, category="not_requested", source="web", ledger_source="bench",
                                      message_ref=f"<big-{i}>")
        db.session.commit()
        print("rates:", [(r.window, r.complaints, r.delivered, f"{r.rate:.4%}") for r in rates.current_rates(big.id)])
        indexed = median_ms(lambda: rates.current_rates(big.id), args.runs)
        chart = median_ms(lambda: rates.daily(big.id), max(args.runs // 4, 3))
        counter = iter(range(10**6))

        def one_complaint():
            i = next(counter)
            contact = subscriptions.get_or_create_contact(big, f"late{i}@example.org")
            complaints.file_complaint(contact, category="not_requested", source="web", ledger_source="bench",
                                      message_ref=f"<late-{i}>")
            db.session.commit()
        small = accounts.create_account(name="Small", postal_address="Jl. 3", contact_email="o@small.example")
        db.session.commit()

        def small_complaint():
            i = next(counter)
            contact = subscriptions.get_or_create_contact(small, f"small{i}@example.org")
            complaints.file_complaint(contact, category="too_frequent", source="web", ledger_source="bench",
                                      message_ref=f"<small-{i}>")
            db.session.commit()
        complaint, small_ms = interleaved_ms(one_complaint, small_complaint, max(args.runs // 2, 3))
        from datetime import timedelta

        from portal.db import utcnow

        starts = [utcnow() - timedelta(hours=24), utcnow() - timedelta(days=30)]
        print("baseline counts:", count_events(big.id, starts))
        bare = median_ms(lambda: count_events(big.id, starts), args.runs)
        chart_bare = median_ms(lambda: daily_events(big.id), max(args.runs // 4, 3))
        listing_figures = bench_listing(args)
        db.session.remove()
        db.engine.dispose()
    figures = {"rates_ms": indexed, "rates_baseline_ms": bare, "chart_ms": chart, "chart_baseline_ms": chart_bare,
               "complaint_ms": complaint, "complaint_baseline_ms": small_ms, **listing_figures}
    print(f"current_rates (24 h and 30 d), hourly counts:  {indexed:.2f} ms")
    print(f"baseline, counting the events (index-only):    {bare:.2f} ms  (hourly counts take {indexed / bare:.4f} of it)")
    print(f"30-day chart (daily counts):                   {chart:.2f} ms"
          f"  (baseline: the daily counts over the events, {chart_bare:.2f} ms; ratio {chart / chart_bare:.3f})")
    print(f"one whole complaint (file_complaint + commit): {complaint:.2f} ms"
          f"  (baseline: a too_frequent complaint of an account with no deliveries, {small_ms:.2f} ms;"
          f" ratio {complaint / small_ms:.2f})")
    print(f"console accounts list of {listing_figures['accounts']:,} accounts, first page by rate: "
          f"{listing_figures['list_first_ms']:.1f} ms, last page {listing_figures['list_last_ms']:.1f} ms, "
          f"filtered (rate >= 0.1%) {listing_figures['list_filtered_ms']:.1f} ms"
          f"  (baseline: the delivered counts summed per account, {listing_figures['list_baseline_ms']:.1f} ms;"
          f" ratio {listing_figures['list_first_ms'] / listing_figures['list_baseline_ms']:.2f})")
    print(json.dumps({name: round(value, 3) for name, value in figures.items()}))


def bench_listing(args) -> dict:
    """The console's accounts list over ``--accounts`` more accounts: first, last and filtered pages."""
    from portal.ops import listing

    start = time.perf_counter()
    fill_accounts(args.accounts)
    print(f"inserted {args.accounts:,} accounts with 30 days of counts in {time.perf_counter() - start:.1f} s")
    first = listing.accounts_page()
    print("first page:", [(row.account.name, row.complaints, row.delivered, f"{row.rate:.4%}") for row in first.rows[:3]])
    runs = max(args.runs // 4, 3)
    return {"accounts": first.total, "list_first_ms": median_ms(listing.accounts_page, runs),
            "list_last_ms": median_ms(lambda: listing.accounts_page(number=first.pages), runs),
            "list_filtered_ms": median_ms(lambda: listing.accounts_page(min_rate=0.001), runs),
            "list_baseline_ms": median_ms(summed_delivered, runs)}


if __name__ == "__main__":
    main()
