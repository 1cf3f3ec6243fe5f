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
from datetime import timedelta

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select
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


class DatabaseCollector:
    """The figures read from the database at scrape time (and this process's suppression index)."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        """Every family, read in the scrape's own request (its app context and session)."""
        yield from self._outbox()
        yield from self._ledger()
        yield from self._complaints()
        yield from self._imports()
        yield from self._suppressions()

    def _outbox(self):
        from portal.outbox.models import OutboxMessage, OutboxStatus

        by_status = GaugeMetricFamily("portal_outbox_messages", "Outbox rows by channel and status "
                                      "(sent: delivered; failed: gave up after the last retry).",
                                      labels=["channel", "status"])
        rows = db.session.execute(select(OutboxMessage.channel, OutboxMessage.status, func.count())
                                  .group_by(OutboxMessage.channel, OutboxMessage.status))
        for channel, status, count in rows:
            by_status.add_metric([channel, status], count)
        yield by_status
        depth = GaugeMetricFamily("portal_outbox_depth", "Messages waiting to be sent.", labels=["channel"])
        oldest = GaugeMetricFamily("portal_outbox_oldest_age_seconds",
                                   "Age of the oldest message waiting to be sent.", labels=["channel"])
        retrying = GaugeMetricFamily("portal_outbox_retrying", "Waiting messages that failed at least once.",
                                     labels=["channel"])
        now = utcnow()
        waiting = {channel: (0, None, 0) for channel in ("mail", "webhook")}
        waiting.update({channel: (count, first, failed) for channel, count, first, failed in db.session.execute(
            select(OutboxMessage.channel, func.count(), func.min(OutboxMessage.created_at),
                   func.count().filter(OutboxMessage.attempts > 0))
            .where(OutboxMessage.status == OutboxStatus.PENDING).group_by(OutboxMessage.channel))})
        for channel, (count, first, failed) in sorted(waiting.items()):
            depth.add_metric([channel], count)
            oldest.add_metric([channel], _age(now, first))
            retrying.add_metric([channel], failed)
        yield from (depth, oldest, retrying)

    def _ledger(self):
        from portal.consent.models import ConsentEvent, EventType
        from portal.suppression.models import DeliveryEvent

        events = _counts(select(ConsentEvent.type, func.count()).group_by(ConsentEvent.type))
        family = CounterMetricFamily("portal_consent_events", "Ledger events by type (the ledger only grows).",
                                     labels=["type"])
        for name, count in sorted(events.items()):
            family.add_metric([name], count)
        yield family
        yield CounterMetricFamily("portal_unsubscribes", "Unsubscribes recorded in the ledger.",
                                  value=events.get(EventType.UNSUBSCRIBED, 0))
        deliveries = CounterMetricFamily("portal_delivery_events", "Deliveries and bounces the platform reported.",
                                         labels=["type"])
        for name in ("delivered", "hard_bounce", "soft_bounce"):
            deliveries.add_metric([name], 0)
        for name, count in db.session.execute(select(DeliveryEvent.type, func.count()).group_by(DeliveryEvent.type)):
            deliveries.add_metric([name], count)
        yield deliveries

    def _complaints(self):
        from portal.accounts.models import Account
        from portal.complaints.models import Complaint
        from portal.suppression.models import DeliveryEvent

        complaints = CounterMetricFamily("portal_complaints", "Complaints, by source (web form or feedback loop).",
                                         labels=["source"])
        for source in ("web", "feedback_loop"):
            complaints.add_metric([source], 0)
        for source, count in db.session.execute(select(Complaint.source, func.count()).group_by(Complaint.source)):
            complaints.add_metric([source], count)
        yield complaints
        since = utcnow() - RATE_WINDOW
        recent = db.session.scalar(select(func.count()).select_from(Complaint).where(Complaint.created_at >= since))
        delivered = db.session.scalar(select(func.count()).select_from(DeliveryEvent).where(
            DeliveryEvent.type == "delivered", DeliveryEvent.at >= since))
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
        from portal.suppression.models import Suppression
        from portal.suppression.operations import last_seq

        yield GaugeMetricFamily("portal_suppressions", "Suppression entries in the database.",
                                value=db.session.scalar(select(func.count()).select_from(Suppression)))
        head = last_seq()
        yield GaugeMetricFamily("portal_suppression_feed_seq", "The newest seq of the suppression changes feed.",
                                value=head)
        index = self.app.extensions.get("suppression_index")
        loaded = index is not None and index.seq >= 0
        yield GaugeMetricFamily("portal_suppression_index_entries",
                                "Addresses in this process's suppression index (0 before it loads).",
                                value=len(index) if loaded else 0)
        yield GaugeMetricFamily("portal_suppression_index_lag",
                                "Feed rows this process's index has not applied yet (-1 before it loads).",
                                value=max(head - index.seq, 0) if loaded else -1)


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
