"""``GET /metrics``: Prometheus text format, behind a bearer token (``PORTAL_METRICS_TOKEN``).

Two kinds of figures:

- Request counts and latencies, counted in each process by prometheus-client. Under gunicorn
  with several workers they are shared through prometheus-client's multiprocess mode
  (``PROMETHEUS_MULTIPROC_DIR``, which ``gunicorn.conf.py`` sets to a fresh directory unless
  given), so any worker's scrape reports every worker's requests.
- Everything else is read from the database at scrape time (outbox depth and age, deliveries
  and failures, unsubscribes, complaints and their rate, import jobs, suppressions): the same
  answer from every worker and every machine, and nothing to lose when a process restarts.
  Ledger events are never deleted, so their counts are true counters.
"""
from __future__ import annotations

import hmac
import threading
from datetime import timedelta

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, or_, select, text
from werkzeug.exceptions import NotFound

from portal.config import metrics_multiprocess_dir
from portal.db import utcnow
from portal.extensions import db

bp = Blueprint("metrics", __name__)

#: The window of the complaint rate (complaints / delivered), as the policy judges accounts.
RATE_WINDOW = timedelta(days=30)

REQUESTS = Counter("portal_http_requests", "HTTP requests answered, by route, method and status.",
                   ["route", "method", "status"], registry=None)
LATENCY = Histogram("portal_http_request_duration_seconds", "Time to answer a request, by route.",
                    ["route", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=None)


#: (route, method, status) -> the two labelled children: looking labels up costs more than counting.
_CHILDREN: dict[tuple[str, str, int], tuple] = {}


def observe(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request (called by the request middleware of :mod:`portal.logs`)."""
    children = _CHILDREN.get((route, method, status))
    if children is None:
        children = _CHILDREN[route, method, status] = (REQUESTS.labels(route, method, str(status)),
                                                       LATENCY.labels(route, method))
    children[0].inc()
    children[1].observe(seconds)


def _counts(statement) -> dict:
    return {key: value for key, value in db.session.execute(statement)}


#: Rows younger than this, or than the oldest writing transaction still open, are counted at
#: every scrape and never kept: a transaction in flight may still commit a row with a lower id.
SETTLE = timedelta(seconds=60)


class Tally:
    """Counts of an append-only table's rows by one column, kept by this process between scrapes.

    The rows counted are never deleted and their counted column never changes, so the count of
    the rows up to a *settled* id never changes either: each scrape adds the rows settled since
    the previous one (a range of the primary key) and counts only the rows after them. The first
    scrape of a process counts the whole table once; the next ones read only what is new.
    """

    def __init__(self, key, label):
        self.key, self.label = key, label
        self.upto = 0
        self.kept: dict = {}
        self.lock = threading.Lock()

    def settle(self, settled: int | None, head: int | None) -> None:
        """Keep the counts of the rows up to ``settled``; ``head`` (the newest id) below what is kept
        means the table was emptied or restored: start again."""
        if (head or 0) < self.upto:
            self.upto, self.kept = 0, {}
        if settled is not None and settled > self.upto:
            for label, count in db.session.execute(
                    select(self.label, func.count()).where(self.key > self.upto, self.key <= settled)
                    .group_by(self.label)):
                self.kept[label] = self.kept.get(label, 0) + count
            self.upto = settled

    def read(self, settled: int | None, head: int | None) -> dict:
        """Every row's count by label: the kept counts and the rows after them, counted now."""
        with self.lock:
            self.settle(settled, head)
            found = dict(self.kept)
            for label, count in db.session.execute(select(self.label, func.count()).where(self.key > self.upto)
                                                   .group_by(self.label)):
                found[label] = found.get(label, 0) + count
            return found


def _settled_cutoff(now):
    """The newest row time whose rows (and every row of a lower id) are surely committed."""
    cutoff = now - SETTLE
    if db.session.get_bind().dialect.name == "postgresql":
        oldest = db.session.scalar(text(
            "SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"))
        if oldest is not None:
            cutoff = min(cutoff, oldest - SETTLE)
    return cutoff


def _by_time(key, time_column, upto: int, cutoff) -> tuple[int | None, int | None]:
    """(the newest id among rows older than ``cutoff``, the newest id): two lookups of the key's index."""
    settled = select(func.max(key)).where(key > upto, time_column <= cutoff).scalar_subquery()
    return tuple(db.session.execute(select(settled, select(func.max(key)).scalar_subquery())).one())


class DatabaseCollector:
    """The figures read from the database at scrape time (and this process's suppression index).

    No figure counts a table that only grows: ledger events, deliveries, complaints, outbox rows
    and the suppression feed are :class:`Tally` counts, so a scrape reads the rows added since the
    previous one, the outbox's waiting and failed rows, and small tables (accounts, imports).
    """

    def __init__(self, app):
        self.app = app
        if "portal.metrics" not in app.extensions:
            app.extensions.setdefault("portal.metrics", _tallies())  # one set a process, kept between scrapes
        self.tallies = app.extensions["portal.metrics"]

    def collect(self):
        """Every family, read in the scrape's own request (its app context and session)."""
        now = utcnow()
        cutoff = _settled_cutoff(now)
        yield from self._outbox(now, cutoff)
        yield from self._ledger()
        yield from self._deliveries(cutoff)
        yield from self._complaints(now, cutoff)
        yield from self._imports()
        yield from self._suppressions()

    def _outbox(self, now, cutoff):
        from portal.outbox.models import OutboxMessage as Row, OutboxStatus

        tally = self.tallies["outbox"]
        pending = Row.status == OutboxStatus.PENDING
        open_rows = Row.status.in_((OutboxStatus.PENDING, OutboxStatus.FAILED))
        due = pending & (Row.next_attempt_at <= now)
        totals, found = {}, {}
        with tally.lock:
            tally.settle(*_by_time(Row.id, Row.created_at, tally.upto, cutoff))
            totals.update(tally.kept)
            # One pass, one snapshot: the rows after the kept ones, and every waiting or failed row.
            for channel, status, new, count, *waiting in db.session.execute(
                    select(Row.channel, Row.status, func.count().filter(Row.id > tally.upto),
                           func.count().filter(open_rows), func.count().filter(due),
                           func.min(Row.next_attempt_at).filter(due), func.count().filter(pending & ~due),
                           func.count().filter(pending & Row.last_error.is_not(None)))
                    .where(or_(Row.id > tally.upto, open_rows)).group_by(Row.channel, Row.status)):
                totals[channel] = totals.get(channel, 0) + new
                found[channel, status] = count
                if status == OutboxStatus.PENDING:
                    found[channel, "waiting"] = waiting
        by_status = GaugeMetricFamily("portal_outbox_messages", "Outbox rows by channel and status "
                                      "(sent: delivered; failed: gave up after the last retry, or cancelled).",
                                      labels=["channel", "status"])
        for channel, total in sorted(totals.items()):
            waiting, failed = found.get((channel, "pending"), 0), found.get((channel, "failed"), 0)
            for status, count in (("pending", waiting), ("failed", failed), ("sent", total - waiting - failed)):
                if count:
                    by_status.add_metric([channel, status], max(count, 0))
        yield by_status
        yield from self._waiting(now, {channel: found.get((channel, "waiting"), (0, None, 0, 0))
                                       for channel in ("mail", "webhook")})

    @staticmethod
    def _waiting(now, waiting: dict):
        depth = GaugeMetricFamily("portal_outbox_depth", "Messages due now and not sent yet.", labels=["channel"])
        oldest = GaugeMetricFamily("portal_outbox_oldest_age_seconds", "How long the message due the longest "
                                   "has waited since it became due (0 when none is due).", labels=["channel"])
        scheduled = GaugeMetricFamily("portal_outbox_scheduled", "Waiting messages not due yet: spread out "
                                      "(an import's mails), backing off after a failure, or being sent.",
                                      labels=["channel"])
        retrying = GaugeMetricFamily("portal_outbox_retrying", "Waiting messages whose last attempt failed.",
                                     labels=["channel"])
        for channel, (count, first_due, later, failing) in sorted(waiting.items()):
            depth.add_metric([channel], count)
            oldest.add_metric([channel], _age(now, first_due))
            scheduled.add_metric([channel], later)
            retrying.add_metric([channel], failing)
        yield from (depth, oldest, scheduled, retrying)

    def _ledger(self):
        from portal.consent.models import ConsentEvent, EventType, LedgerCheckpoint

        # A sealed range never changes (sealing waits for the writing transactions still open).
        sealed, head = db.session.execute(select(
            select(func.max(LedgerCheckpoint.last_event_id)).scalar_subquery(),
            select(func.max(ConsentEvent.id)).scalar_subquery())).one()
        events = self.tallies["ledger"].read(sealed, head)
        family = CounterMetricFamily("portal_consent_events", "Ledger events by type (the ledger only grows).",
                                     labels=["type"])
        for name, count in sorted(events.items()):
            family.add_metric([name], count)
        yield family
        yield CounterMetricFamily("portal_unsubscribes", "Unsubscribes recorded in the ledger.",
                                  value=events.get(EventType.UNSUBSCRIBED, 0))

    def _deliveries(self, cutoff):
        from portal.suppression.models import DeliveryEvent

        tally = self.tallies["deliveries"]
        counts = tally.read(*_by_time(DeliveryEvent.id, DeliveryEvent.created_at, tally.upto, cutoff))
        deliveries = CounterMetricFamily("portal_delivery_events", "Deliveries and bounces the platform reported.",
                                         labels=["type"])
        for name in sorted({"delivered", "hard_bounce", "soft_bounce", *counts}):
            deliveries.add_metric([name], counts.get(name, 0))
        yield deliveries

    def _complaints(self, now, cutoff):
        from portal.accounts.models import Account
        from portal.complaints.models import Complaint
        from portal.suppression.models import hour_of
        from portal.suppression.models import DeliveryCount

        tally = self.tallies["complaints"]
        sources = tally.read(*_by_time(Complaint.id, Complaint.created_at, tally.upto, cutoff))
        complaints = CounterMetricFamily("portal_complaints", "Complaints, by source (web form or feedback loop).",
                                         labels=["source"])
        for source in sorted({"web", "feedback_loop", *sources}):
            complaints.add_metric([source], sources.get(source, 0))
        yield complaints
        since = now - RATE_WINDOW
        recent = db.session.scalar(select(func.count()).select_from(Complaint).where(Complaint.created_at >= since))
        # The hourly counts that the complaint policy reads: a row per account and hour, not per mail.
        delivered = db.session.scalar(select(func.coalesce(func.sum(DeliveryCount.delivered), 0))
                                      .where(DeliveryCount.hour >= hour_of(since)))
        rate = GaugeMetricFamily("portal_complaint_rate", "Complaints / delivered messages over the last 30 days "
                                 "(all accounts; 0 with no deliveries).", labels=["window"])
        rate.add_metric(["30d"], recent / delivered if delivered else 0.0)
        yield rate
        accounts = GaugeMetricFamily("portal_accounts", "Accounts by status.", labels=["status"])
        for status, count in db.session.execute(select(Account.status, func.count()).group_by(Account.status)):
            accounts.add_metric([status], count)
        yield accounts

    def _imports(self):
        from portal.imports.models import Import

        jobs = GaugeMetricFamily("portal_import_jobs", "Imports by status.", labels=["status"])
        for status, count in db.session.execute(select(Import.status, func.count()).group_by(Import.status)):
            jobs.add_metric([status], count)
        yield jobs
        rows = CounterMetricFamily("portal_import_rows", "Rows of every import, by outcome.", labels=["outcome"])
        confirmed, pending, read = db.session.execute(
            select(func.coalesce(func.sum(Import.confirmed), 0), func.coalesce(func.sum(Import.pending), 0),
                   func.coalesce(func.sum(Import.rows), 0))).one()
        rows.add_metric(["confirmed"], confirmed)
        rows.add_metric(["pending"], pending)
        rows.add_metric(["refused"], max(read - confirmed - pending, 0))
        yield rows

    def _suppressions(self):
        from portal.suppression.operations import last_seq

        head = last_seq()
        # Every entry added or lifted is one row of the feed, written under the feed's lock: the
        # feed up to its head is settled, and the entries are its additions less its removals.
        ops = self.tallies["feed"].read(head, head)
        yield GaugeMetricFamily("portal_suppressions", "Suppression entries in the database.",
                                value=ops.get("add", 0) - ops.get("remove", 0))
        yield GaugeMetricFamily("portal_suppression_feed_seq", "The newest seq of the suppression changes feed.",
                                value=head)
        index = self.app.extensions.get("suppression_index")
        loaded = index is not None and index.seq >= 0
        yield GaugeMetricFamily("portal_suppression_index_entries",
                                "Entries in this process's suppression index, its own estimate: the "
                                "loaded base plus the addresses changed since (0 before it loads).",
                                value=len(index) if loaded else 0)
        yield GaugeMetricFamily("portal_suppression_index_lag",
                                "Feed rows this process's index has not applied yet (-1 before it loads).",
                                value=max(head - index.seq, 0) if loaded else -1)


def _tallies() -> dict[str, Tally]:
    from portal.complaints.models import Complaint
    from portal.consent.models import ConsentEvent
    from portal.outbox.models import OutboxMessage
    from portal.suppression.models import DeliveryEvent, SuppressionChange

    return {"outbox": Tally(OutboxMessage.id, OutboxMessage.channel),
            "ledger": Tally(ConsentEvent.id, ConsentEvent.type),
            "deliveries": Tally(DeliveryEvent.id, DeliveryEvent.type),
            "complaints": Tally(Complaint.id, Complaint.source),
            "feed": Tally(SuppressionChange.seq, SuppressionChange.op)}


def _age(now, first) -> float:
    return max((now - first).total_seconds(), 0.0) if first is not None else 0.0


def registry() -> CollectorRegistry:
    """The registry of one scrape: this process's (or every worker's) request metrics, and the database's."""
    scrape = CollectorRegistry(auto_describe=False)
    if metrics_multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(scrape)
    else:
        scrape.register(REQUESTS)
        scrape.register(LATENCY)
    scrape.register(DatabaseCollector(current_app._get_current_object()))
    return scrape


def _authorised() -> bool:
    token = current_app.config.get("PORTAL_METRICS_TOKEN")
    if not token:
        raise NotFound()  # no token configured: there is no metrics endpoint
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


@bp.get("/metrics")
def metrics():
    """The metrics, for ``Authorization: Bearer $PORTAL_METRICS_TOKEN``."""
    if not _authorised():
        from portal.errors import Unauthorized

        raise Unauthorized("Send Authorization: Bearer <PORTAL_METRICS_TOKEN>.")
    return Response(generate_latest(registry()), mimetype=CONTENT_TYPE_LATEST)
