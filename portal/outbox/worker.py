"""The delivery worker: claims due messages, sends them, retries with exponential backoff.

A claim moves ``next_attempt_at`` forward (a lease) and commits before anything is sent, so
that another worker skips the message; on PostgreSQL the candidates are read ``FOR UPDATE SKIP
LOCKED`` so concurrent workers take different rows, and the conditional update makes a double
claim impossible on every database. A worker that dies mid-send leaves the message to be
retried when its lease runs out.

Delivery is at-least-once: a worker killed after the SMTP server accepted a message but before
the row was marked sent sends it again when the lease ends, with the same Message-ID, so that
receivers can drop the copy. A worker never sends a message whose lease has (nearly) run out,
a mail server that is down or stalls (``MAIL_TIMEOUT``) ends the batch and leaves the rest for
later, and a database that drops its connections only pauses the worker.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from portal.db import utcnow
from portal.extensions import db
from portal.outbox import webhook
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.outbox.operations import MessageCancelled, produce, sent
from portal.outbox.transport import Transport, TransportDown, render_bytes, transport
from portal.polling import run_until_stopped


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
    # A webhook refused for its address is not retried: it would only give DNS time to rebind.
    if isinstance(error, webhook.WebhookRefused) or message.attempts >= current_app.config["PORTAL_OUTBOX_MAX_ATTEMPTS"]:
        message.status = OutboxStatus.FAILED
        report.failed.append(message.id)
    else:
        message.next_attempt_at = now + backoff(message.attempts)
        report.retried.append(message.id)
    current_app.logger.warning("outbox message %s attempt %s failed: %s", message.id, message.attempts,
                               message.last_error)


def _deliver(message: OutboxMessage, open_transport: Callable[[], Transport], report: RunReport,
             now: datetime | None) -> bool:
    """Send one claimed message and record the outcome (commits); False when the transport is down."""
    transport_up = True
    try:
        if message.channel == "webhook":
            webhook.post(message.recipient, message.payload)
        else:
            sender, data = render_bytes(message)
            open_transport().send(sender, message.recipient, data)
    except MessageCancelled as cancelled:
        message.status, message.last_error = OutboxStatus.FAILED, f"cancelled: {cancelled}"[:2000]
        report.failed.append(message.id)
        db.session.commit()
    except Exception as error:  # noqa: BLE001 - any failure of one message is retried, never fatal
        transport_up = not isinstance(error, TransportDown)
        _record_failure(message, error, now or utcnow(), report)
        db.session.commit()
    else:
        _mark_sent(message.id, message.attempts, message.context, message.payload.get("message_id"))
        report.sent.append(message.id)
    return transport_up


def _mark_sent(message_id: int, attempts: int, context: dict | None = None,
               message_ref: str | None = None) -> None:
    """Record a sent message; a dropped database connection gets one more try on a new one.

    The update names the claim (``attempts``), so it cannot mark a later claim's send. A
    reference carrying ``ledger`` gets its ledger event (``confirmation_sent``) in the same commit.
    """
    for attempt in range(2):
        try:
            result = db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.attempts == attempts,
                       OutboxMessage.status == OutboxStatus.PENDING)
                .values(status=OutboxStatus.SENT, sent_at=utcnow(), last_error=None)
                .execution_options(synchronize_session=False))
            if result.rowcount == 1 and context and context.get("ledger"):
                sent(message_id, context["ledger"], message_ref)
            db.session.commit()
            return
        except DBAPIError:
            db.session.rollback()
            if attempt == 1:
                raise


def _release(messages: list[OutboxMessage], now: datetime | None) -> None:
    """Give back claimed messages that were not tried (the transport is down): due again later."""
    at = (now or utcnow()) + backoff(1)
    for message in messages:
        message.attempts = max(message.attempts - 1, 0)
        message.next_attempt_at = at
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


def _lease_margin() -> float:
    """Seconds a send may take: a message is not started with less than this left of its lease."""
    config = current_app.config
    return min(2 * float(config.get("MAIL_TIMEOUT") or 30), config["PORTAL_OUTBOX_LEASE_SECONDS"] / 2)


def _produce(now: datetime | None) -> None:
    """Let paced mailings put in what falls due (privacy notice mails); their failure never stops delivery."""
    try:
        produce(now)
        db.session.commit()
    except Exception:  # noqa: BLE001 - logged; what is already in the outbox still goes out
        db.session.rollback()
        current_app.logger.exception("outbox worker: a producer failed; delivering what is queued")


def run_once(limit: int | None = None, now: datetime | None = None) -> RunReport:
    """Deliver every message due at ``now`` (in batches), then return what happened."""
    limit = limit or current_app.config["PORTAL_OUTBOX_BATCH_SIZE"]
    report = RunReport()
    _produce(now)
    while True:
        batch = claim(limit, now)
        if not batch:
            return report
        # After this, another worker may claim the batch's messages: stop before it can.
        deadline = time.monotonic() + current_app.config["PORTAL_OUTBOX_LEASE_SECONDS"] - _lease_margin()
        lazy = _LazyTransport()
        try:
            for index, message in enumerate(batch):
                if time.monotonic() > deadline:
                    return report  # the rest are claimed again when their lease ends
                if not _deliver(message, lazy, report, now):
                    _release(batch[index + 1:], now)
                    return report
        finally:
            try:
                lazy.close()
            except OSError:
                pass
        if len(batch) < limit:
            return report


def run_forever(stop: Callable[[], bool], poll_seconds: float) -> None:
    """Deliver due messages until ``stop()`` is true, sleeping ``poll_seconds`` when idle
    (:func:`portal.polling.run_until_stopped`: a database error waits for the next pass)."""
    run_until_stopped("outbox worker", _pass, stop, poll_seconds)


def _pass() -> bool:
    report = run_once()
    return bool(report.sent or report.retried or report.failed)
