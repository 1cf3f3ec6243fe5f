"""The suppression index behind lookups and bulk checks: a shared compact base and an exact delta.

The base is a *generation* of :mod:`portal.suppression.compact`: every entry as of one feed
``seq``, in sorted fixed-width records (33 bytes an entry) in files under
``PORTAL_SUPPRESSION_INDEX_DIR``, memory-mapped read-only, so every worker of a machine shares
one copy through the page cache. It is built once per machine (the first worker to start
builds it under a file lock; the others wait for it and map it) and never changed.

On top of it each worker keeps a small in-memory *delta*: for each address changed since the
base's ``seq``, its scopes' newest state (an entry, or None for a removal). Before every use
the worker reads the feed rows after the last ``seq`` it applied: one indexed query, usually
empty. Because feed rows become visible in ``seq`` order (see
:mod:`portal.suppression.operations`), having applied up to N means holding the table as of a
moment no older than that query, so an answer is exactly what the table says. In the
background, a worker whose delta has grown past ``PORTAL_SUPPRESSION_INDEX_MERGE_ENTRIES``
writes the base and its delta into a new generation; every worker adopts the newest
generation within ``PORTAL_SUPPRESSION_INDEX_MERGE_SECONDS``, with a delta of only what came
after it.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from typing import Iterable, Iterator

import numpy as np
from flask import current_app
from sqlalchemy import BigInteger, Connection, bindparam, cast, event, func, select, text
from sqlalchemy.engine import make_url

from portal.addresses import try_normalise
from portal.db import isoformat
from portal.extensions import db
from portal.suppression import compact
from portal.suppression.compact import DamagedGeneration, Entry, Generation
from portal.suppression.models import Suppression, SuppressionChange, SuppressionScope

#: Rows read from the table per round trip while building a generation.
BUILD_CHUNK = 50_000
#: Checks of at most this many addresses search the base one by one (``bisect``), not as an array.
SMALL_CHECK = 8
_NO_DIGEST = b"\0" * 32

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


#: What ``str.strip()`` removes from ASCII text (``bytes.strip()`` alone leaves \x1c to \x1f).
_ASCII_SPACE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"


def digests(emails: Iterable[str]) -> list[bytes | None]:
    """:func:`address_digest` of each address.

    A batch of ASCII addresses (the common case) is lower-cased and encoded as one string
    and split again, so the per-address Python work is the hash alone; anything else (an
    address that is not ASCII or holds a line break, a value that is not a string) goes
    address by address.
    """
    emails = emails if isinstance(emails, list) else list(emails)
    if len(emails) > SMALL_CHECK:
        try:
            text = "\n".join(emails)
        except TypeError:
            text = ""
        if text.isascii():
            parts = text.lower().encode().split(b"\n")
            if len(parts) == len(emails):
                sha256, space = hashlib.sha256, _ASCII_SPACE
                return [sha256(part.strip(space)).digest() for part in parts]
    sha256 = hashlib.sha256
    return [sha256(email.strip().lower().encode()).digest() if isinstance(email, str) and email.isascii()
            else address_digest(email) for email in emails]


def _created(entry: Entry) -> str:
    return entry[4]


@contextmanager
def file_lock(directory: str, blocking: bool = True) -> Iterator[bool]:
    """The index directory's lock, held by the one process that writes a generation (False: busy)."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "lock"), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def index_directory(app) -> str:
    """Where ``app``'s index generations live: ``PORTAL_SUPPRESSION_INDEX_DIR``, or one directory per database.

    The default is ``<instance>/suppression-index/<16 hex digits of the SHA-256 of the database
    URL, password left out>``, so two databases (or deployments) served from one instance
    folder never replace each other's generations.
    """
    configured = app.config.get("PORTAL_SUPPRESSION_INDEX_DIR")
    if configured:
        return configured
    url = make_url(str(app.config["SQLALCHEMY_DATABASE_URI"])).render_as_string(hide_password=True)
    return os.path.join(app.instance_path, "suppression-index", hashlib.sha256(url.encode()).hexdigest()[:16])


def database_identity(connection: Connection) -> str:
    """What tells this database from another (a re-created one included) on this machine."""
    if connection.dialect.name == "postgresql":
        name, oid = connection.execute(text(
            "SELECT current_database(), oid FROM pg_database WHERE datname = current_database()")).one()
        return f"postgresql:{name}:{oid}"
    path = connection.execute(text("PRAGMA database_list")).first()[2]
    if not path:
        return f"memory:{id(connection.engine)}"
    stat = os.stat(path)
    return f"sqlite:{stat.st_dev}:{stat.st_ino}"


def fingerprint(connection: Connection, seq: int) -> list:
    """What identifies this database and its feed row ``seq`` (for a generation exact as of it)."""
    mark = [database_identity(connection)]
    if seq > 0:
        row = connection.execute(select(SuppressionChange.op, SuppressionChange.email_hash, SuppressionChange.at)
                                 .where(SuppressionChange.seq == seq)).first()
        mark += [None] if row is None else [row[0], row[1], isoformat(row[2])]
    return mark


class SuppressionIndex:
    """The shared base generation, and this worker's delta since it: digest -> {scope: entry or None}."""

    def __init__(self) -> None:
        self.generation: Generation | None = None
        self.delta: dict[bytes, dict[tuple, Entry | None]] = {}
        #: (generation, delta), swapped as one so a reader never mixes two generations.
        self.state: tuple[Generation | None, dict] = (None, self.delta)
        self.seq = -1  # -1: not loaded yet
        self.lock = threading.Lock()
        #: ``time.monotonic_ns()`` read just before the last completed catch-up query was sent.
        self.synced_from = -1
        self._strings: dict[str | None, str | None] = {}
        #: The index's own autocommit connection, used under ``lock`` only (see :meth:`_feed_rows`).
        self.connection: Connection | None = None
        self._statement: tuple | None = None
        self.directory: str | None = None
        self.merge_entries = 0
        self.merge_seconds = 0.0
        self._next_maintenance = 0.0
        self._maintaining = threading.Lock()

    def __len__(self) -> int:
        """Entries of the base plus addresses changed since (an estimate of the addresses held)."""
        generation, delta = self.state
        return (generation.count if generation else 0) + len(delta)

    def _entry(self, scope, account_id, list_id, reason, created_at) -> Entry:
        intern = self._strings.setdefault
        return (intern(scope, scope), intern(account_id, account_id), intern(list_id, list_id),
                intern(reason, reason), isoformat(created_at))

    def sync(self) -> None:
        """Map the base once, then apply the feed rows after the last one applied.

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
        if self.merge_seconds > 0 and time.monotonic() >= self._next_maintenance:
            self._maintain_later()

    def _load(self) -> None:
        app = current_app
        self.directory = index_directory(app)
        self.merge_entries = app.config["PORTAL_SUPPRESSION_INDEX_MERGE_ENTRIES"]
        self.merge_seconds = app.config["PORTAL_SUPPRESSION_INDEX_MERGE_SECONDS"]
        self._next_maintenance = time.monotonic() + self.merge_seconds
        generation = self._open_current()
        if generation is None:
            with file_lock(self.directory):
                generation = self._open_current(quiet=True) or self._build()
        self._adopt(generation, {}, generation.seq)

    def _adopt(self, generation: Generation, delta: dict, seq: int) -> None:
        self.generation, self.delta, self.seq = generation, delta, seq
        self.state = (generation, delta)

    def _open_current(self, quiet: bool = False) -> Generation | None:
        """The current generation if there is one, it is whole and it was built from this database.

        A damaged one (a torn or truncated file, a checksum that does not match) is logged and
        treated as absent: the caller builds a new one, which replaces it.
        """
        for _attempt in range(3):
            name = compact.current(self.directory)
            if name is None:
                return None
            try:
                generation = Generation(self.directory, name)
            except (DamagedGeneration, OSError) as error:
                if isinstance(error, FileNotFoundError) and compact.current(self.directory) != name:
                    continue  # replaced meanwhile: read ``current`` again
                if not quiet:
                    current_app.logger.warning("suppression index: %s; building a new one", error)
                return None
            return generation if self._valid(generation) else None
        return None

    @staticmethod
    def _valid(generation: Generation) -> bool:
        """Whether ``generation`` was written from this database (and its feed as it still is)."""
        with db.engine.connect() as connection:
            return fingerprint(connection, generation.seq) == generation.fingerprint

    def _build(self) -> Generation:
        """Write and publish a generation of the whole table (under the directory's lock)."""
        from portal.suppression.operations import last_seq_on

        compact.sweep(self.directory)  # what a writer that died left
        strings = compact.Strings()
        with db.engine.connect() as connection:
            # The seq first, the table after: rows both in the table and in the replayed feed
            # are applied twice, which the delta makes harmless (the newest state wins).
            seq = last_seq_on(connection)
            mark = fingerprint(connection, seq)
            chunks = self._table_chunks(connection, strings)
            try:
                name = compact.write(self.directory, compact.sorted_chunks(chunks, self.directory), seq=seq,
                                     fingerprint=mark, strings=strings.strings)
            finally:
                chunks.close()
            connection.rollback()
        compact.publish(self.directory, name)
        return Generation(self.directory, name)

    @staticmethod
    def _table_chunks(connection: Connection, strings: compact.Strings) -> Iterator[np.ndarray]:
        at = Suppression.created_at
        if connection.dialect.name == "postgresql":
            # Microseconds since 1970 computed by the server (exact: numeric), not a datetime a row.
            at = cast(func.extract("epoch", Suppression.created_at) * 1_000_000, BigInteger)
        rows = connection.execution_options(yield_per=BUILD_CHUNK).execute(select(
            Suppression.email_hash, Suppression.scope, Suppression.account_id, Suppression.list_id,
            Suppression.reason, at))
        with rows:  # a build that fails part-way closes its server-side cursor
            yield from SuppressionIndex._converted(rows, strings)

    @staticmethod
    def _converted(rows, strings: compact.Strings) -> Iterator[np.ndarray]:
        microseconds = compact.microseconds
        codes = {(scope, reason): compact.code(scope, reason) for scope in compact.SCOPES for reason in compact.REASONS}
        for part in rows.partitions():
            hashes, scopes, accounts, lists, reasons, created = zip(*part)
            halves = np.frombuffer(bytes.fromhex("".join(hashes)), dtype=">u8").reshape(-1, 4)
            chunk = np.empty(len(part), dtype=compact.RECORD)
            chunk["hi"], chunk["lo"] = halves[:, 0], halves[:, 1]
            chunk["at"] = created if isinstance(created[0], int) else [microseconds(value) for value in created]
            chunk["account"] = [strings(value) for value in accounts]
            chunk["list"] = [strings(value) for value in lists]
            chunk["code"] = [codes[pair] for pair in zip(scopes, reasons)]
            yield chunk

    def _feed_rows(self, after: int | None = None) -> list:
        """The feed rows after ``after`` (default ``seq``): one round trip on the index's own autocommit connection.

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
                after = self.seq if after is None else after
                rows = self._fetch(raw, sql, (after,) if positional else {"after": after})
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
        self.seq = self._apply(self.delta, self._feed_rows(), self.seq)

    def _apply(self, delta: dict, rows: list, seq: int) -> int:
        """Apply feed rows to ``delta``; the last seq applied.

        A digest's changes are replaced, never changed in place, so that a copy of ``delta``
        taken for a merge stays as it was.
        """
        for seq, op, hashed, scope, account_id, list_id, reason, at in rows:
            digest = bytes.fromhex(hashed)
            changes = dict(delta.get(digest, ()))
            entry = self._entry(scope, account_id, list_id, reason, at)
            changes[entry[:3]] = entry if op == "add" else None
            delta[digest] = changes
        return seq

    def check(self, emails: Iterable[str], account_id: str) -> list[tuple[int, list[Entry]]]:
        """(position, entries) of each address suppressed for ``account_id``."""
        generation, delta = self.state
        hashed = digests(emails)
        found = self._in_base(generation, hashed) if generation is not None and generation.count else {}
        if delta:
            touched = delta.keys() & set(hashed)
            for position in (p for p, digest in enumerate(hashed) if digest in touched) if touched else ():
                changes = delta[hashed[position]]
                kept = [entry for entry in found.get(position, ()) if entry[:3] not in changes]
                found[position] = kept + [entry for entry in changes.values() if entry is not None]
        answer, glob = [], SuppressionScope.GLOBAL
        for position in sorted(found):
            mine = [e for e in found[position] if e[0] == glob or e[1] == account_id]
            if mine:
                answer.append((position, sorted(mine, key=_created) if len(mine) > 1 else mine))
        return answer

    @staticmethod
    def _in_base(generation: Generation, hashed: list[bytes | None]) -> dict[int, list[Entry]]:
        """Position -> the base's entries, for each digest the base has."""
        found, entry = {}, generation.entry
        if len(hashed) <= SMALL_CHECK:
            for position, digest in enumerate(hashed):
                if digest is not None:
                    places = generation.positions(*compact.split(digest))
                    if places:
                        found[position] = [entry(place) for place in places]
            return found
        blob = b"".join(hashed) if None not in hashed else b"".join(digest or _NO_DIGEST for digest in hashed)
        halves = np.frombuffer(blob, dtype=">u8").reshape(-1, 4)
        which, places = generation.find(halves[:, 0].astype("<u8"), halves[:, 1].astype("<u8"))
        for position, entry in zip(which.tolist(), generation.entries(places)):
            if position in found:
                found[position].append(entry)
            elif hashed[position] is not None:  # an invalid address's stand-in digest finds nothing real
                found[position] = [entry]
        return found

    def maintain(self) -> str | None:
        """Adopt a newer generation, or merge a large delta into one: what was done (or None).

        Runs in the background (see :meth:`sync`), in an app context. The merge is written by
        one process at a time (the directory's lock); the others adopt it on their next round.
        A damaged current generation is replaced at once by this worker's base and delta
        ("repaired"), so that no worker that starts later finds it.
        """
        if self.generation is None:
            return None
        name = compact.current(self.directory)
        damaged = None
        if name is not None and name != self.generation.name:
            try:
                generation = Generation(self.directory, name)
            except (DamagedGeneration, OSError) as error:
                if isinstance(error, FileNotFoundError) and compact.current(self.directory) != name:
                    return None  # replaced again meanwhile: next round
                current_app.logger.warning("suppression index: %s; writing a new one", error)
                damaged = name
            else:
                if generation.seq >= self.generation.seq and self._valid(generation):
                    self._switch(generation)
                    return "adopted"
        if damaged is None and len(self.delta) < self.merge_entries:
            return None
        with file_lock(self.directory, blocking=False) as held:
            if not held or compact.current(self.directory) not in (self.generation.name, damaged):
                return None
            with self.lock:
                generation, snapshot, seq = self.generation, dict(self.delta), self.seq
            with db.engine.connect() as connection:
                mark = fingerprint(connection, seq)
            replaced, strings = self._replaced(generation, snapshot)
            compact.sweep(self.directory)  # what a writer that died left (our own files stay mapped)
            name = compact.write(self.directory, compact.merged(generation, replaced), seq=seq, fingerprint=mark,
                                 strings=strings)
            compact.publish(self.directory, name)
        self._switch(Generation(self.directory, name))
        return "merged" if damaged is None else "repaired"

    @staticmethod
    def _replaced(generation: Generation, snapshot: dict) -> tuple[dict[tuple[int, int], list[tuple]], list]:
        """The new raw records of each digest in ``snapshot`` (the base's untouched scopes, then its
        changes), and the string table they refer to."""
        strings = compact.Strings(generation.strings)
        replaced = {}
        for digest, changes in snapshot.items():
            hi, lo = compact.split(digest)
            records = [generation.record(place) for place in generation.positions(hi, lo)
                       if generation.entry(place)[:3] not in changes]
            for scope, account_id, list_id, reason, created_at in filter(None, changes.values()):
                at = compact.microseconds(datetime.fromisoformat(created_at))
                records.append((hi, lo, at, strings(account_id), strings(list_id), compact.code(scope, reason)))
            replaced[(hi, lo)] = records
        return replaced, strings.strings

    def _switch(self, generation: Generation) -> None:
        """Use ``generation`` from now on, with a delta of the feed rows after it."""
        with self.lock:
            delta: dict = {}
            seq = self._apply(delta, self._feed_rows(generation.seq), generation.seq)
            self._adopt(generation, delta, max(seq, self.seq))

    def _maintain_later(self) -> None:
        """Run :meth:`maintain` in a background thread, unless one is running."""
        if not self._maintaining.acquire(blocking=False):
            return
        self._next_maintenance = time.monotonic() + self.merge_seconds
        app = current_app._get_current_object()

        def run() -> None:
            try:
                with app.app_context():
                    self.maintain()
            except Exception:  # noqa: BLE001 - the next round tries again; answers stay exact meanwhile
                app.logger.exception("suppression index maintenance failed")
            finally:
                self._maintaining.release()

        threading.Thread(target=run, name="suppression-index-merge", daemon=True).start()


def warm(app, log) -> threading.Thread:
    """Map ``app``'s index in a background thread now, rather than on the first lookup.

    Called as a gunicorn worker starts (``gunicorn.conf.py``): the first worker of a machine
    builds the base (seconds at a million entries), the others map it (milliseconds) and
    catch up with the feed. Lookups that come meanwhile wait for it on the index's lock, as
    they would have; a failed load is logged and the next lookup tries again. ``log`` has
    ``info`` and ``exception`` (gunicorn's or a logger).
    """
    def load() -> None:
        started = time.monotonic()
        try:
            with app.app_context():
                size = len(index())
        except Exception:  # noqa: BLE001 - the next lookup loads it
            log.exception("loading the suppression index failed; the first lookup will load it")
            return
        log.info("suppression index loaded: %d addresses in %.2f s", size, time.monotonic() - started)

    thread = threading.Thread(target=load, name="suppression-index", daemon=True)
    thread.start()
    return thread


def index() -> SuppressionIndex:
    """This app's index, synchronised with the feed."""
    extensions = current_app.extensions
    extension = extensions.get("suppression_index")
    if extension is None:
        extension = extensions.setdefault("suppression_index", SuppressionIndex())
    extension.sync()
    return extension
