"""Benchmark: a ``/metrics`` scrape at scale, beside ``/healthz`` and the whole-table counts it replaced.

    python bench/metrics_scrape.py [--events 2000000] [--delivered 1000000] [--outbox 300000] \
        [--suppressions 200000] [--runs 20] [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

A scratch PostgreSQL database is created next to ``--database-url`` and dropped afterwards. It is
filled inside PostgreSQL (``INSERT ... SELECT generate_series``), older than the scrape's settling
time: ``--events`` ledger events (sealed by a checkpoint row, as ``ledger seal`` leaves them), a
sender's ``--delivered`` deliveries over 30 days and 2% bounces (with their hourly counts), 3,000
complaints, ``--outbox`` sent mails, 2,000 failed, an import's 50,000 mails scheduled over the next
hours and 100 due now, and ``--suppressions`` entries with their feed rows. Then, in one process
(the Flask test client, so the figures are the app's own work and the database's):

- ``/healthz``, the baseline of the same run (median of ``--runs``);
- the process's first scrape, which counts the growing tables once;
- a scrape as Prometheus makes them (median of ``--runs``), each after a minute's worth of new
  rows (100 ledger events, 100 deliveries, 10 mails): it reads only what was added since the last;
- the whole-table counts the scrape ran before (ledger events by type, delivery events by type,
  delivered in 30 days, outbox rows by status, suppressions), timed in the same run.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from portal import create_app  # noqa: E402
from ledger_export import scratch_database as scratch  # noqa: E402  (bench/ is on the path)

TOKEN = "bench-metrics-token"




def median_ms(function, runs: int, between=None) -> float:
    times = []
    for _ in range(runs):
        if between is not None:
            between()
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


FILL = [
    # contacts of the ledger events
    """INSERT INTO contacts (account_id, email, email_hash, created_at)
       SELECT :account, 'p' || g || '@bench.example', md5(g::text) || md5((g + 7)::text), now() - interval '40 days'
       FROM generate_series(1, :contacts) g""",
    # ledger events, 20 a contact, older than the checkpoint that seals them
    """INSERT INTO consent_events (account_id, contact_id, seq, type, occurred_at, list_id, source, evidence,
                                   pii_commitments, prev_hash, hash)
       SELECT :account, :first_contact + (g % :contacts), g / :contacts + 1,
              (ARRAY['signup_requested','confirmation_sent','confirmed','unsubscribed','resubscribed'])[g % 5 + 1],
              now() - interval '1 day' - (g % 2592000) * interval '1 second', :list, 'form:bench', '{}', '{}',
              md5(g::text) || md5((g + 1)::text), md5((g + 2)::text) || md5((g + 3)::text)
       FROM generate_series(0, :events - 1) g""",
    """INSERT INTO ledger_checkpoints (first_event_id, last_event_id, event_count, prev_digest, digest, created_at)
       SELECT min(id), max(id), count(*), repeat('0', 64), md5('bench') || md5('bench'), now() FROM consent_events""",
    # deliveries over 30 days, 2% bounces, and their hourly counts
    """INSERT INTO delivery_events (account_id, message_id, type, email_hash, at, created_at)
       SELECT :account, '<m' || g || '@bench>',
              CASE WHEN g % 100 = 0 THEN 'hard_bounce' WHEN g % 100 = 1 THEN 'soft_bounce' ELSE 'delivered' END,
              md5(g::text) || md5((g + 1)::text), now() - (g % 2592000) * interval '1 second',
              now() - interval '5 minutes' - (g % 2592000) * interval '1 second'
       FROM generate_series(1, :delivered) g""",
    """INSERT INTO delivery_counts (account_id, hour, delivered)
       SELECT account_id, date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*)
       FROM delivery_events WHERE type = 'delivered' GROUP BY 1, 2""",
    """INSERT INTO complaints (account_id, contact_id, category, source, message_ref, evidence, created_at)
       SELECT :account, :first_contact + (g % :contacts), 'not_requested', CASE WHEN g % 3 = 0 THEN 'web' ELSE 'feedback_loop' END,
              '<m' || g || '@bench>', '{}', now() - (g % 2592000) * interval '1 second'
       FROM generate_series(1, 3000) g""",
    # the outbox: sent mail, failed mail, an import's mails spread over hours, mail due now
    """INSERT INTO outbox_messages (channel, kind, account_id, recipient, payload, status, attempts,
                                    next_attempt_at, created_at, sent_at)
       SELECT 'mail', 'confirmation', :account, 'p' || g || '@bench.example', '{"subject": "Confirm"}',
              CASE WHEN g <= :outbox THEN 'sent' ELSE 'failed' END, 1,
              now() - interval '2 days' + g * interval '1 ms', now() - interval '2 days' + g * interval '1 ms',
              now() - interval '2 days' + g * interval '1 ms'
       FROM generate_series(1, :outbox + 2000) g""",
    """INSERT INTO outbox_messages (channel, kind, account_id, recipient, payload, status, attempts,
                                    next_attempt_at, created_at)
       SELECT 'mail', 'repermission', :account, 'i' || g || '@bench.example', '{"headers": {}}', 'pending', 0,
              now() + (g / 1000) * interval '1 minute' - interval '1 minute' + CASE WHEN g <= 100 THEN interval '0'
              ELSE interval '2 minutes' END, now() - interval '2 minutes'
       FROM generate_series(1, 50100) g""",
    # suppressions and the feed that carries them
    """INSERT INTO suppressions (email_hash, email, scope, scope_key, account_id, reason, created_at)
       SELECT md5(g::text) || md5((g + 5)::text), 's' || g || '@bench.example', 'account', 'account:' || :account,
              :account, 'manual', now() - interval '3 days'
       FROM generate_series(1, :suppressions) g""",
    """INSERT INTO suppression_changes (op, email_hash, email, scope, account_id, reason, at)
       SELECT 'add', email_hash, email, scope, account_id, reason, created_at FROM suppressions ORDER BY id""",
]


def fill(args, account_id: str, list_id: str) -> None:
    from sqlalchemy import text

    from portal.extensions import db

    values = {"account": account_id, "list": list_id, "contacts": max(args.events // 20, 1),
              "events": args.events, "delivered": args.delivered, "outbox": args.outbox,
              "suppressions": args.suppressions}
    for number, statement in enumerate(FILL):
        if number == 1:
            values["first_contact"] = db.session.scalar(text("SELECT min(id) FROM contacts"))
        db.session.execute(text(statement), values)
        db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def a_minute_of_traffic(account_id: str, list_id: str, first_contact: int, contacts: int) -> None:
    """What a busy minute adds: 100 ledger events, 100 deliveries, 10 mails."""
    from sqlalchemy import text

    from portal.extensions import db

    tag = uuid.uuid4().hex[:8]
    db.session.execute(text("""
        INSERT INTO consent_events (account_id, contact_id, seq, type, occurred_at, list_id, source, evidence,
                                    pii_commitments, prev_hash, hash)
        SELECT :account, c.id, coalesce((SELECT max(seq) FROM consent_events e WHERE e.contact_id = c.id), 0) + 1,
               'unsubscribed', now(), :list, 'bench', '{}', '{}', repeat('a', 64), repeat('b', 64)
        FROM contacts c WHERE c.id >= :first + :offset AND c.id < :first + :offset + 100"""),
        {"account": account_id, "list": list_id, "first": first_contact,
         "offset": int(uuid.uuid4().int % max(contacts - 100, 1))})
    db.session.execute(text("""
        INSERT INTO delivery_events (account_id, message_id, type, email_hash, at, created_at)
        SELECT :account, '<n' || :tag || g || '@bench>', 'delivered', md5(:tag || g), now(), now()
        FROM generate_series(1, 100) g"""), {"account": account_id, "tag": tag})
    db.session.execute(text("""
        INSERT INTO outbox_messages (channel, kind, account_id, recipient, payload, status, attempts,
                                     next_attempt_at, created_at)
        SELECT 'mail', 'confirmation', :account, 'n' || :tag || g || '@bench.example', '{}', 'pending', 0, now(), now()
        FROM generate_series(1, 10) g"""), {"account": account_id, "tag": tag})
    db.session.commit()


def whole_table_counts() -> None:
    """The counts a scrape ran before: over every row of the growing tables."""
    from sqlalchemy import func, select

    from portal.consent.models import ConsentEvent
    from portal.extensions import db
    from portal.outbox.models import OutboxMessage
    from portal.suppression.models import DeliveryEvent, Suppression
    from portal.db import utcnow
    from datetime import timedelta

    db.session.execute(select(ConsentEvent.type, func.count()).group_by(ConsentEvent.type)).all()
    db.session.execute(select(DeliveryEvent.type, func.count()).group_by(DeliveryEvent.type)).all()
    db.session.scalar(select(func.count()).select_from(DeliveryEvent).where(
        DeliveryEvent.type == "delivered", DeliveryEvent.at >= utcnow() - timedelta(days=30)))
    db.session.execute(select(OutboxMessage.channel, OutboxMessage.status, func.count())
                       .group_by(OutboxMessage.channel, OutboxMessage.status)).all()
    db.session.scalar(select(func.count()).select_from(Suppression))
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--delivered", type=int, default=1_000_000)
    parser.add_argument("--outbox", type=int, default=300_000)
    parser.add_argument("--suppressions", type=int, default=200_000)
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
    from portal.extensions import db
    from portal.subscriptions import operations as subscriptions

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PORTAL_METRICS_TOKEN": TOKEN, "PORTAL_WARM_INDEX": False,
                      "PORTAL_OUTBOX_DIR": "/tmp/bench-metrics-outbox"})
    client = app.test_client()
    with app.app_context():
        flask_migrate.upgrade()
        account = accounts.create_account(name="Bench", postal_address="Jl. Bench 1", contact_email="o@bench.example")
        mailing_list = subscriptions.create_list(account, name="News")
        db.session.commit()
        account_id, list_id = account.id, mailing_list.id
        start = time.perf_counter()
        fill(args, account_id, list_id)
        first_contact = db.session.scalar(text("SELECT min(id) FROM contacts"))
        contacts = db.session.scalar(text("SELECT count(*) FROM contacts"))
        print(f"filled in {time.perf_counter() - start:.1f} s: {args.events:,} ledger events, "
              f"{args.delivered:,} delivery events, {args.outbox + 52_100:,} outbox rows, "
              f"{args.suppressions:,} suppressions")
        db.session.remove()

    headers = {"Authorization": f"Bearer {TOKEN}"}

    def scrape():
        answer = client.get("/metrics", headers=headers)
        assert answer.status_code == 200, answer.status_code
        return answer

    def healthz():
        assert client.get("/healthz").status_code == 200

    healthz_ms = median_ms(healthz, args.runs)
    start = time.perf_counter()
    first = scrape().get_data(as_text=True)
    first_ms = (time.perf_counter() - start) * 1000
    with app.app_context():
        def traffic():
            a_minute_of_traffic(account_id, list_id, first_contact, contacts)
            db.session.remove()
        scrape_ms = median_ms(scrape, args.runs, between=traffic)
        before_ms = median_ms(whole_table_counts, max(args.runs // 4, 3))
        db.session.remove()
        db.engine.dispose()
    for line in first.splitlines():
        if line.startswith(("portal_outbox_depth{channel=\"mail\"", "portal_outbox_scheduled{channel=\"mail\"",
                            "portal_unsubscribes_total", "portal_delivery_events_total", "portal_suppressions ",
                            "portal_complaint_rate", "portal_outbox_messages")):
            print("  ", line)
    print(f"/healthz (baseline):                          {healthz_ms:8.2f} ms")
    print(f"first scrape of the process (counts once):    {first_ms:8.2f} ms")
    print(f"scrape after a minute of traffic (median):    {scrape_ms:8.2f} ms  ({scrape_ms / healthz_ms:.1f} x /healthz)")
    print(f"the whole-table counts a scrape ran before:   {before_ms:8.2f} ms  "
          f"(the scrape takes {scrape_ms / before_ms:.3f} of it)")


if __name__ == "__main__":
    main()
