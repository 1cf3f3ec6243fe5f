"""The delivery worker: claims due messages, sends them, retries with exponential backoff.

A claim moves ``next_attempt_at`` forward (a lease) and commits before anything is sent, so
that another worker skips the message; on PostgreSQL the candidates are read ``FOR UPDATE SKIP
LOCKED`` so concurrent workers take different rows, and the conditional update makes a double
claim impossible on every database. A worker that dies mid-send leaves the message to be
retried when its lease runs out.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import select, update

from portal.db import utcnow
from portal.extensions import db
from portal.outbox import webhook
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.outbox.transport import Transport, render_bytes, transport


@dataclass
class RunReport:
    """What one pass of the worker did."""

    sent: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base * 2^(attempts-1), capped."""
    config = current_app.config
    seconds = config["PORTAL_OUTBOX_BACKOFF_SECONDS"] * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, config["PORTAL_OUTBOX_BACKOFF_MAX_SECONDS"]))


def claim(limit: int, now: datetime | None = None) -> list[OutboxMessage]:
    """Take up to ``limit`` due messages for this worker (commits the claim)."""
    now = now or utcnow()
    lease = now + timedelta(seconds=current_app.config["PORTAL_OUTBOX_LEASE_SECONDS"])
    candidates = (select(OutboxMessage.id)
                  .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
                  .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    claimed = []
    for message_id in db.session.scalars(candidates).all():
        result = db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING,
                   OutboxMessage.next_attempt_at <= now)
            .values(next_attempt_at=lease, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:
            claimed.append(message_id)
    db.session.commit()
    return [db.session.get(OutboxMessage, message_id, populate_existing=True) for message_id in claimed]


def _record_failure(message: OutboxMessage, error: Exception, now: datetime, report: RunReport) -> None:
    message.last_error = f"{type(error).__name__}: {error}"[:2000]
    if message.attempts >= current_app.config["PORTAL_OUTBOX_MAX_ATTEMPTS"]:
        message.status = OutboxStatus.FAILED
        report.failed.append(message.id)
    else:
        message.next_attempt_at = now + backoff(message.attempts)
        report.retried.append(message.id)
    current_app.logger.warning("outbox message %s attempt %s failed: %s", message.id, message.attempts,
                               message.last_error)


def _deliver(message: OutboxMessage, open_transport: Callable[[], Transport], report: RunReport,
             now: datetime | None) -> None:
    """Send one claimed message and record the outcome (commits)."""
    try:
        if message.channel == "webhook":
            webhook.post(message.recipient, message.payload)
        else:
            sender, data = render_bytes(message)
            open_transport().send(sender, message.recipient, data)
    except Exception as error:  # noqa: BLE001 - any failure of one message is retried, never fatal
        _record_failure(message, error, now or utcnow(), report)
    else:
        message.status, message.sent_at, message.last_error = OutboxStatus.SENT, utcnow(), None
        report.sent.append(message.id)
    db.session.commit()


class _LazyTransport:
    """Opens the mail transport on first use only (a webhook-only batch needs no SMTP)."""

    def __init__(self):
        self._open: Transport | None = None

    def __call__(self) -> Transport:
        if self._open is None:
            candidate = transport()
            candidate.__enter__()
            self._open = candidate
        return self._open

    def close(self) -> None:
        if self._open is not None:
            self._open.__exit__(None, None, None)
            self._open = None


def run_once(limit: int | None = None, now: datetime | None = None) -> RunReport:
    """Deliver every message due at ``now`` (in batches), then return what happened."""
    limit = limit or current_app.config["PORTAL_OUTBOX_BATCH_SIZE"]
    report = RunReport()
    while True:
        batch = claim(limit, now)
        if not batch:
            return report
        lazy = _LazyTransport()
        try:
            for message in batch:
                _deliver(message, lazy, report, now)
        finally:
            try:
                lazy.close()
            except OSError:
                pass
        if len(batch) < limit:
            return report


def run_forever(stop: Callable[[], bool], poll_seconds: float) -> None:
    """Deliver due messages until ``stop()`` is true, sleeping ``poll_seconds`` when idle."""
    while not stop():
        report = run_once()
        if not (report.sent or report.retried or report.failed):
            db.session.remove()
            deadline = time.monotonic() + poll_seconds
            while time.monotonic() < deadline and not stop():
                time.sleep(0.2)
