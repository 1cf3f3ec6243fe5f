"""An in-process index of every suppression, kept exact by the changes feed.

Each worker process keeps, per app, a dict from an address's SHA-256 digest (the full one:
no collisions to confirm) to its entries. Before every use it reads the feed rows after the
last ``seq`` it applied: one indexed query, usually empty. Because feed rows become visible
in ``seq`` order (see :mod:`portal.suppression.operations`), having applied up to N means
holding the table as of a moment no older than that query, so a bulk check answers from
memory exactly what the table says. Cost: about 250 bytes per entry per worker process.
"""
from __future__ import annotations

import gc
import hashlib
import threading
import time
from typing import Iterable

from flask import current_app
from sqlalchemy import Connection, bindparam, event, select

from portal.addresses import try_normalise
from portal.db import isoformat
from portal.extensions import db
from portal.suppression.models import Suppression, SuppressionChange, SuppressionScope

#: Index sizes from which the loaded index is moved out of the garbage collector's sight.
FREEZE_ABOVE = 100_000

#: One entry: (scope, account_id, list_id, reason, created_at as ISO 8601).
Entry = tuple[str, str | None, str | None, str, str]

#: The feed rows after the last one applied.
CATCH_UP = select(
    SuppressionChange.seq, SuppressionChange.op, SuppressionChange.email_hash, SuppressionChange.scope,
    SuppressionChange.account_id, SuppressionChange.list_id, SuppressionChange.reason, SuppressionChange.at,
).where(SuppressionChange.seq > bindparam("after")).order_by(SuppressionChange.seq)


def address_digest(address: str) -> bytes | None:
    """A SHA-256 digest that equals ``email_hash(normalise(address))`` whenever the address is valid.

    For an ASCII address, normalising is stripping and lower-casing the domain, and the hash
    case-folds everything, so the validator is skipped: an invalid ASCII address then gives
    a digest no valid address has (validity does not depend on case), which no entry can carry,
    since entries are only made from normalised addresses. Others go through the validator
    (None when invalid).
    """
    if not isinstance(address, str):
        return None
    if address.isascii():
        return hashlib.sha256(address.strip().lower().encode()).digest()
    normalised = try_normalise(address)
    return hashlib.sha256(normalised.lower().encode()).digest() if normalised else None


class SuppressionIndex:
    """Digest -> its one entry, or a list of its entries (several scopes)."""

    def __init__(self) -> None:
        self.entries: dict[bytes, Entry | list[Entry]] = {}
        self.seq = -1  # -1: not loaded yet
        self.lock = threading.Lock()
        #: ``time.monotonic_ns()`` read just before the last completed catch-up query was sent.
        self.synced_from = -1
        self._strings: dict[str | None, str | None] = {}
        #: The index's own autocommit connection, used under ``lock`` only (see :meth:`_feed_rows`).
        self.connection: Connection | None = None
        self._statement: tuple | None = None

    def _entry(self, scope, account_id, list_id, reason, created_at) -> Entry:
        intern = self._strings.setdefault
        return (intern(scope, scope), intern(account_id, account_id), intern(list_id, list_id),
                intern(reason, reason), isoformat(created_at))

    def _add(self, digest: bytes, entry: Entry) -> None:
        current = self.entries.get(digest)
        if current is None:
            self.entries[digest] = entry
            return
        entries = current if isinstance(current, list) else [current]
        if any(old[:3] == entry[:3] for old in entries):
            return  # already there (a replayed feed row)
        self.entries[digest] = entries + [entry]

    def _remove(self, digest: bytes, scope: tuple) -> None:
        current = self.entries.get(digest)
        if current is None:
            return
        rest = [old for old in (current if isinstance(current, list) else [current]) if old[:3] != scope]
        if not rest:
            del self.entries[digest]
        else:
            self.entries[digest] = rest[0] if len(rest) == 1 else rest

    def sync(self) -> None:
        """Load the table once, then apply the feed rows after the last one applied.

        Concurrent callers share a catch-up: a caller that waited for the lock skips its own
        query when one sent after it arrived has completed meanwhile, since that query saw
        every row committed before the caller arrived (and so no caller is answered from a
        state older than its own arrival; reads take their snapshot per statement: READ
        COMMITTED on PostgreSQL, no open read transaction on SQLite). Under load most lookups
        then touch no connection.
        """
        arrived = time.monotonic_ns()
        with self.lock:
            if self.synced_from >= arrived:
                return
            started = time.monotonic_ns()
            if self.seq < 0:
                self._load()
            self._catch_up()
            self.synced_from = started

    def _load(self) -> None:
        # The seq first, the table after: rows both in the table and in the replayed feed are
        # applied twice, which _add and _remove make harmless.
        from portal.suppression.operations import last_seq

        seq = last_seq()
        rows = db.session.execute(select(Suppression.email_hash, Suppression.scope, Suppression.account_id,
                                         Suppression.list_id, Suppression.reason, Suppression.created_at))
        for hashed, *entry in rows:
            self._add(bytes.fromhex(hashed), self._entry(*entry))
        self.seq = seq
        if len(self.entries) >= FREEZE_ABOVE:
            # Without this every full garbage collection walks the whole index: 5x slower checks
            # at a million entries. Frozen objects are still freed by reference counting.
            gc.collect()
            gc.freeze()

    def _feed_rows(self) -> list:
        """The feed rows after ``seq``: one round trip on the index's own autocommit connection.

        No pool checkout (so no pre-ping), no BEGIN and no ROLLBACK per catch-up, and each
        query sees everything committed before it was sent. The statement goes to the driver
        directly (compiled once): SQLAlchemy's execution layer would cost more than the round
        trip. A connection the server dropped (a restart) is replaced and the query sent once
        more, so no caller sees the failure.
        """
        dialect = db.engine.dialect
        if self._statement is None:
            compiled = CATCH_UP.compile(dialect=dialect)
            at = SuppressionChange.__table__.c.at.type.dialect_impl(dialect).result_processor(dialect, None)
            positional = compiled.positiontup is not None
            self._statement = (str(compiled), positional, at)
        sql, positional, at = self._statement
        for attempt in (1, 2):
            if self.connection is None:
                self._connect()
            raw = self.connection.connection.dbapi_connection
            try:
                rows = self._fetch(raw, sql, (self.seq,) if positional else {"after": self.seq})
            except dialect.loaded_dbapi.Error as error:
                disconnected = dialect.is_disconnect(error, raw, None)
                self.close(invalidate=disconnected)
                if attempt == 2 or not disconnected:
                    raise
                continue
            return [(*row[:7], at(row[7]) if at else row[7]) for row in rows]
        raise AssertionError("unreachable")

    @staticmethod
    def _fetch(raw, sql: str, params) -> list:
        cursor = raw.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchall()
        finally:
            cursor.close()

    def _connect(self) -> None:
        engine = db.engine
        self.connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if not event.contains(engine, "engine_disposed", self._disposed):
            event.listen(engine, "engine_disposed", self._disposed)

    def _disposed(self, _engine) -> None:
        """The engine's pool was closed: close the index's connection too (it cannot go back)."""
        with self.lock:
            self.close(invalidate=True)

    def close(self, invalidate: bool = False) -> None:
        """Give the index's connection back (the next catch-up opens another)."""
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            if invalidate:
                connection.invalidate()
            connection.close()
        except Exception:  # noqa: BLE001 - a dead connection may fail to close; it is dropped anyway
            pass

    def _catch_up(self) -> None:
        rows = self._feed_rows()
        for seq, op, hashed, scope, account_id, list_id, reason, at in rows:
            if op == "add":
                self._add(bytes.fromhex(hashed), self._entry(scope, account_id, list_id, reason, at))
            else:
                self._remove(bytes.fromhex(hashed), (scope, account_id, list_id))
            self.seq = seq

    def check(self, emails: Iterable[str], account_id: str) -> list[tuple[int, list[Entry]]]:
        """(position, entries) of each address suppressed for ``account_id``."""
        entries, sha256 = self.entries, hashlib.sha256
        found = []
        for position, email in enumerate(emails):
            if email.isascii():  # the common case, inlined: see address_digest
                digest = sha256(email.strip().lower().encode()).digest()
            else:
                digest = address_digest(email)
            current = entries.get(digest) if digest else None
            if current is None:
                continue
            mine = [e for e in (current if isinstance(current, list) else (current,))
                    if e[0] == SuppressionScope.GLOBAL or e[1] == account_id]
            if mine:
                found.append((position, sorted(mine, key=lambda e: e[4])))
        return found


def warm(app, log) -> threading.Thread:
    """Load ``app``'s index in a background thread now, rather than on the first lookup.

    Called as a gunicorn worker starts (``gunicorn.conf.py``): at a million entries the load
    takes seconds, which the first lookups would otherwise wait. Lookups that come meanwhile
    wait for it on the index's lock, as they would have; a failed load is logged and the next
    lookup tries again. ``log`` has ``info`` and ``exception`` (gunicorn's or a logger).
    """
    def load() -> None:
        started = time.monotonic()
        try:
            with app.app_context():
                size = len(index().entries)
        except Exception:  # noqa: BLE001 - the next lookup loads it
            log.exception("loading the suppression index failed; the first lookup will load it")
            return
        log.info("suppression index loaded: %d addresses in %.1f s", size, time.monotonic() - started)

    thread = threading.Thread(target=load, name="suppression-index", daemon=True)
    thread.start()
    return thread


def index() -> SuppressionIndex:
    """This app's index, synchronised with the feed."""
    extension = current_app.extensions.setdefault("suppression_index", SuppressionIndex())
    extension.sync()
    return extension
