"""The import worker: claims a queued import, runs it in one transaction, reports progress.

Any number of workers on any machines may run (``flask imports work``). A claim is a
conditional update naming the claim's number (``attempts``) and a lease (``lease_until``),
committed before the import starts; on PostgreSQL the candidate is read ``FOR UPDATE SKIP
LOCKED`` so concurrent workers take different imports. The import itself is one transaction:
a worker that dies leaves nothing behind (the database rolls its transaction back) and, when
its lease runs out, another worker takes the import over from the start.

Progress (rows, counts, bytes read) and the lease are written after every chunk on a second
connection in autocommit, so ``GET .../imports/<id>`` shows them while the import's own
transaction is still open. (SQLite has one writer: there they are written in the import's
transaction and seen at its end.) A worker that finds its claim taken over stops and rolls back.
"""
from __future__ import annotations

import os
import secrets
import socket
from collections import Counter
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from portal.accounts.models import ApiKey
from portal.consent import actors
from portal.db import utcnow
from portal.errors import PortalError
from portal.extensions import db
from portal.imports.operations import jobs, storage
from portal.imports.models import Import, ImportStatus, RefusalReason
from portal.polling import run_until_stopped


class LeaseLost(Exception):
    """Another worker took the import over: this one must not commit it."""


def worker_name() -> str:
    """This process, as imports name their worker: host, pid and a random part."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


def _lease(now: datetime) -> datetime:
    return now + timedelta(seconds=current_app.config["PORTAL_IMPORT_LEASE_SECONDS"])


def claim(worker: str, now: datetime | None = None) -> Import | None:
    """Take the oldest queued import, or one whose worker's lease ran out (commits the claim)."""
    now = now or utcnow()
    claimable = or_(Import.status == ImportStatus.QUEUED,
                    and_(Import.status == ImportStatus.RUNNING, Import.lease_until < now))
    candidates = select(Import.id, Import.attempts).where(claimable).order_by(Import.created_at, Import.id).limit(5)
    if db.engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    for import_id, attempts in db.session.execute(candidates).all():
        result = db.session.execute(
            update(Import).where(Import.id == import_id, Import.attempts == attempts, claimable)
            .values(status=ImportStatus.RUNNING, worker=worker, lease_until=_lease(now), started_at=now,
                    attempts=attempts + 1, rows=0, confirmed=0, pending=0, refused={}, bytes_read=0)
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:
            db.session.commit()
            return db.session.get(Import, import_id, populate_existing=True)
    db.session.commit()
    return None


class ProgressWriter:
    """Writes a running import's progress and renews its lease (see the module's docstring)."""

    def __init__(self, record: Import):
        self.record = record
        self.import_id, self.attempts = record.id, record.attempts
        self.row: int | None = None
        self._connection = None
        if db.engine.dialect.name == "postgresql":
            self._connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def __call__(self, counts: Counter, bytes_read: int) -> None:
        values = {"rows": counts["rows"], "confirmed": counts["confirmed"], "pending": counts["pending"],
                  "refused": {reason: counts[reason] for reason in RefusalReason.ALL},
                  "bytes_read": bytes_read, "lease_until": _lease(utcnow())}
        if self._connection is None:
            for name, value in values.items():
                setattr(self.record, name, value)
            return
        result = self._connection.execute(
            update(Import.__table__).where(Import.id == self.import_id, Import.attempts == self.attempts)
            .values(**values))
        if result.rowcount != 1:
            raise LeaseLost(self.import_id)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()


def _still_ours(import_id: str, attempts: int) -> None:
    """Lock the import's row for the final write; :class:`LeaseLost` if it was taken over."""
    query = select(Import.attempts).where(Import.id == import_id)
    if db.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    if db.session.scalar(query) != attempts:
        raise LeaseLost(import_id)


def fail(import_id: str, attempts: int, code: str, message: str, row: int | None) -> None:
    """End a claimed import as ``failed`` with why and where; nothing of it stays (commits)."""
    db.session.execute(
        update(Import).where(Import.id == import_id, Import.attempts == attempts)
        .values(status=ImportStatus.FAILED, error_code=code, error_message=message[:2000], error_row=row,
                confirmed=0, pending=0, refused={}, finished_at=utcnow(), lease_until=None)
        .execution_options(synchronize_session=False))
    storage.discard(import_id)
    db.session.commit()


def run_one(worker: str) -> Import | None:
    """Claim one import and run it to its end (finished or failed); None when none is waiting."""
    record = claim(worker)
    if record is None:
        return None
    import_id, attempts = record.id, record.attempts
    if attempts > current_app.config["PORTAL_IMPORT_MAX_ATTEMPTS"]:
        fail(import_id, attempts, "interrupted", f"The import was interrupted {attempts - 1} times "
             "(its worker stopped); it is not tried again.", None)
        return record
    progress = ProgressWriter(record)
    try:
        with actors.acting_as(_importer(record)):
            jobs.run(record, progress)
        _still_ours(import_id, attempts)
        storage.discard(import_id)
        db.session.commit()
    except LeaseLost:
        db.session.rollback()
        current_app.logger.warning("import %s was taken over by another worker; rolled back", import_id)
    except PortalError as error:
        db.session.rollback()
        fail(import_id, attempts, error.code, error.message, progress.row)
    except SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.exception("import %s: database error", import_id)
        _fail_or_leave(import_id, attempts, "database_error",
                       f"The database refused the import: {type(error).__name__}.", progress.row)
    except Exception:  # noqa: BLE001 - any failure ends the import as failed, with its row
        db.session.rollback()
        current_app.logger.exception("import %s failed", import_id)
        _fail_or_leave(import_id, attempts, "internal_error", "The import stopped on an unexpected error.",
                       progress.row)
    finally:
        progress.close()
    return db.session.get(Import, import_id, populate_existing=True)


def _importer(record: Import) -> actors.Actor:
    """Who the import's ledger events name: the key that uploaded it (else the system's job)."""
    key = db.session.get(ApiKey, record.api_key_id) if record.api_key_id else None
    return actors.of_key(key) if key is not None else actors.SYSTEM_ACTOR


def _fail_or_leave(import_id: str, attempts: int, code: str, message: str, row: int | None) -> None:
    """Record the failure; if the database is gone too, the lease hands the import on."""
    try:
        fail(import_id, attempts, code, message, row)
    except SQLAlchemyError:
        db.session.rollback()


def run_once(worker: str | None = None) -> list[Import]:
    """Run imports until none is waiting; the imports run."""
    worker = worker or worker_name()
    done = []
    while (record := run_one(worker)) is not None:
        done.append(record)
    return done


def run_forever(stop: Callable[[], bool], poll_seconds: float) -> None:
    """Run imports until ``stop()`` is true, sleeping ``poll_seconds`` when none is waiting."""
    worker = worker_name()
    run_until_stopped("import worker", lambda: run_one(worker) is not None, stop, poll_seconds)
