"""The compact suppression index on disk: sorted fixed-width records, memory-mapped by every worker.

A *generation* is three files in the index directory, written once and never changed:

- ``<generation>.keys``: the first 8 bytes of each entry's SHA-256 digest as an unsigned
  64-bit integer (native order), sorted: what lookups search (``numpy.searchsorted`` for a
  batch, ``bisect`` for one address);
- ``<generation>.rest``: at the same position, 25 bytes: the digest's next 8 bytes, the
  entry's ``created_at`` (microseconds since 1970, UTC), its account id and list id (indices
  into the generation's string table, 0 for none) and its scope and reason (one byte);
- ``<generation>.json``: the count, the feed ``seq`` the generation is exact as of (with a
  fingerprint naming the database and that feed row, so that a file is never used against
  another database, or a re-created one) and the string table.

``current`` names the generation to use; it is replaced by a rename, so a reader sees the
old name or the new one. That is 33 bytes an entry, shared by every process through the page
cache: 100,000,000 entries are 3.3 GB on disk and in memory once per machine, whatever the
number of workers. Entries of one address are adjacent (one per scope). A 128-bit digest
prefix is compared: two addresses share one with a probability of about 10^-21 at 10^8
entries, far below any hardware error rate.
"""
from __future__ import annotations

import json
import mmap
import os
import struct
import tempfile
import uuid
from bisect import bisect_left
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator

import numpy as np

from portal.db import isoformat
from portal.suppression.models import SuppressionReason, SuppressionScope

FORMAT = 1
#: One record as held in memory while building: the key and the rest.
RECORD = np.dtype([("hi", "<u8"), ("lo", "<u8"), ("at", "<i8"), ("account", "<u4"), ("list", "<u4"),
                   ("code", "u1")])
#: The part of a record stored in ``.rest``.
REST = np.dtype([("lo", "<u8"), ("at", "<i8"), ("account", "<u4"), ("list", "<u4"), ("code", "u1")])
REST_STRUCT = struct.Struct("<QqIIB")
assert REST_STRUCT.size == REST.itemsize == 25
#: Bytes an entry takes on disk (and in the page cache).
ENTRY_BYTES = 8 + REST.itemsize
SCOPES = SuppressionScope.ALL
REASONS = SuppressionReason.ALL
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
NAIVE_EPOCH = datetime(1970, 1, 1)
MICROSECOND = timedelta(microseconds=1)
#: Records sorted in memory at once while building; beyond, they are spread over bucket files.
SORT_IN_MEMORY = 4_000_000

#: One entry: (scope, account_id, list_id, reason, created_at as ISO 8601).
Entry = tuple[str, str | None, str | None, str, str]


def split(digest: bytes) -> tuple[int, int]:
    """The (hi, lo) 64-bit halves of a digest's first 16 bytes."""
    return int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:16], "big")


def microseconds(value: datetime) -> int:
    """``value`` as microseconds since 1970 (UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return (value - EPOCH) // MICROSECOND


def code(scope: str, reason: str) -> int:
    """Scope and reason in one byte."""
    return SCOPES.index(scope) << 4 | REASONS.index(reason)


class Strings:
    """The string table of a generation being built: index 0 is None."""

    def __init__(self, strings: list[str | None] | None = None) -> None:
        self.strings = list(strings or [None])
        self.positions = {value: position for position, value in enumerate(self.strings)}

    def __call__(self, value: str | None) -> int:
        position = self.positions.get(value)
        if position is None:
            position = self.positions[value] = len(self.strings)
            self.strings.append(value)
        return position


class Records:
    """Rows appended one at a time, handed out as RECORD arrays of ``size`` rows."""

    def __init__(self, strings: Strings, size: int = 100_000) -> None:
        self.strings, self.size, self.rows = strings, size, []

    def add(self, digest: bytes, scope: str, account_id, list_id, reason: str, created_at: datetime | int) -> None:
        hi, lo = split(digest)
        at = created_at if isinstance(created_at, int) else microseconds(created_at)
        self.rows.append((hi, lo, at, self.strings(account_id), self.strings(list_id), code(scope, reason)))

    def full(self) -> bool:
        return len(self.rows) >= self.size

    def take(self) -> np.ndarray:
        chunk, self.rows = np.array(self.rows, dtype=RECORD), []
        return chunk


def sorted_chunks(chunks: Iterable[np.ndarray], scratch: str) -> Iterator[np.ndarray]:
    """The records of ``chunks`` (unsorted RECORD arrays) as RECORD arrays sorted by ``hi``.

    Up to :data:`SORT_IN_MEMORY` records are sorted in memory; more are spread over 256 bucket
    files in ``scratch`` by the key's first byte, then each bucket is sorted on its own, so a
    build of any size holds one bucket in memory (a 256th of the whole).
    """
    held, count, chunks = [], 0, iter(chunks)
    for chunk in chunks:
        held.append(chunk)
        count += len(chunk)
        if count > SORT_IN_MEMORY:
            break
    else:
        if held:
            records = np.concatenate(held)
            yield records[np.argsort(records["hi"], kind="stable")]
        return
    with tempfile.TemporaryDirectory(dir=scratch, prefix="buckets-") as where:
        buckets = [open(os.path.join(where, f"{b:02x}"), "wb") for b in range(256)]
        try:
            for chunk in _chain(held, chunks):
                chunk = chunk[np.argsort(chunk["hi"] >> np.uint64(56), kind="stable")]
                tops = (chunk["hi"] >> np.uint64(56)).astype(np.int64)
                bounds = np.searchsorted(tops, np.arange(257))
                for b in np.nonzero(bounds[1:] > bounds[:-1])[0]:
                    buckets[b].write(chunk[bounds[b]:bounds[b + 1]].tobytes())
            del held[:]
        finally:
            for bucket in buckets:
                bucket.close()
        for b in range(256):
            path = os.path.join(where, f"{b:02x}")
            records = np.fromfile(path, dtype=RECORD)
            os.unlink(path)
            if len(records):
                yield records[np.argsort(records["hi"], kind="stable")]


def _chain(first: list, rest: Iterator) -> Iterator:
    yield from first
    yield from rest


def write(directory: str, chunks: Iterable[np.ndarray], *, seq: int, fingerprint: list | None,
          strings: list[str | None]) -> str:
    """Write a generation from RECORD arrays sorted by ``hi`` (each after the one before); its name.

    The files get their final names only once complete; ``current`` is not changed (see :func:`publish`).
    """
    os.makedirs(directory, exist_ok=True)
    name = f"{seq:015d}-{uuid.uuid4().hex[:8]}"
    base = os.path.join(directory, name)
    count = 0
    with open(base + ".keys.tmp", "wb") as keys, open(base + ".rest.tmp", "wb") as rest:
        for chunk in chunks:
            packed = np.empty(len(chunk), dtype=REST)
            for field in REST.names:
                packed[field] = chunk[field]
            keys.write(np.ascontiguousarray(chunk["hi"]).tobytes())
            rest.write(packed.tobytes())
            count += len(chunk)
    os.replace(base + ".keys.tmp", base + ".keys")
    os.replace(base + ".rest.tmp", base + ".rest")
    meta = {"format": FORMAT, "count": count, "seq": seq, "fingerprint": fingerprint, "strings": strings}
    with open(base + ".json.tmp", "w") as out:
        json.dump(meta, out)
    os.replace(base + ".json.tmp", base + ".json")
    return name


def publish(directory: str, name: str) -> None:
    """Make ``name`` the current generation, and delete the others (mappings of them stay valid)."""
    path = os.path.join(directory, "current")
    with open(path + ".tmp", "w") as out:
        out.write(name)
    os.replace(path + ".tmp", path)
    for entry in os.listdir(directory):
        stem = entry.split(".", 1)[0]
        if entry.endswith((".keys", ".rest", ".json")) and stem != name:
            try:
                os.unlink(os.path.join(directory, entry))
            except FileNotFoundError:
                pass


def current(directory: str) -> str | None:
    """The name of the current generation, or None."""
    try:
        with open(os.path.join(directory, "current")) as source:
            return source.read().strip() or None
    except FileNotFoundError:
        return None


class Generation:
    """One generation, mapped read-only: shared with every process that maps it."""

    def __init__(self, directory: str, name: str) -> None:
        base = os.path.join(directory, name)
        with open(base + ".json") as source:
            meta = json.load(source)
        if meta.get("format") != FORMAT:
            raise ValueError(f"suppression index {name}: unknown format {meta.get('format')!r}")
        self.name, self.count, self.seq = name, meta["count"], meta["seq"]
        self.fingerprint, self.strings = meta["fingerprint"], meta["strings"]
        self.keys = np.zeros(0, dtype="<u8")
        self.key_view: memoryview | tuple = ()
        self.rest: mmap.mmap | bytes = b""
        if self.count:
            self._keys_map = _map(base + ".keys", 8 * self.count)
            self.rest = _map(base + ".rest", REST.itemsize * self.count)
            self.keys = np.frombuffer(self._keys_map, dtype="<u8")
            self.key_view = memoryview(self._keys_map).cast("Q")

    def positions(self, hi: int, lo: int) -> list[int]:
        """Record positions of the digest with these halves (one per scope)."""
        view, found = self.key_view, []
        position = bisect_left(view, hi)
        while position < self.count and view[position] == hi:
            if REST_STRUCT.unpack_from(self.rest, position * REST.itemsize)[0] == lo:
                found.append(position)
            position += 1
        return found

    def candidates(self, his: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(indices into ``his``, first record position) of the keys present: a superset of the hits."""
        if not self.count:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
        order = np.argsort(his)
        starts = np.empty(len(his), dtype=np.intp)
        starts[order] = np.searchsorted(self.keys, his[order])  # ascending needles: 3x fewer cache misses
        present = self.keys[np.minimum(starts, self.count - 1)] == his
        which = np.flatnonzero(present)
        return which, starts[which]

    def run(self, start: int, hi: int, lo: int) -> list[int]:
        """Record positions from ``start`` on with this ``hi`` and ``lo``."""
        view, found, position = self.key_view, [], start
        while position < self.count and view[position] == hi:
            if REST_STRUCT.unpack_from(self.rest, position * REST.itemsize)[0] == lo:
                found.append(position)
            position += 1
        return found

    def entry(self, position: int) -> Entry:
        """The entry at ``position``."""
        _lo, at, account, list_id, packed = REST_STRUCT.unpack_from(self.rest, position * REST.itemsize)
        strings = self.strings
        return (SCOPES[packed >> 4], strings[account], strings[list_id], REASONS[packed & 15], _iso(at))

    def record(self, position: int) -> tuple:
        """The raw record at ``position``: (hi, lo, at, account, list, code)."""
        return (self.key_view[position], *REST_STRUCT.unpack_from(self.rest, position * REST.itemsize))

    def chunks(self, size: int = 1_000_000) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """(start, keys, rest) slices of the whole generation, in order."""
        rest = np.frombuffer(self.rest, dtype=REST) if self.count else np.zeros(0, dtype=REST)
        for start in range(0, self.count, size):
            yield start, self.keys[start:start + size], rest[start:start + size]


_ISO: dict[int, str] = {}


def _iso(at: int) -> str:
    """``created_at`` as the API writes it, remembered (entries of one import share their time)."""
    text = _ISO.get(at)
    if text is None:
        if len(_ISO) > 100_000:
            _ISO.clear()
        # As :func:`portal.db.isoformat` writes a UTC time, without its time-zone conversion.
        text = _ISO[at] = (NAIVE_EPOCH + at * MICROSECOND).isoformat() + "Z"
    return text


def _map(path: str, size: int) -> mmap.mmap:
    with open(path, "rb") as source:
        if os.fstat(source.fileno()).st_size != size:
            raise ValueError(f"suppression index file {path} has the wrong size")
        mapped = mmap.mmap(source.fileno(), size, access=mmap.ACCESS_READ)
    # Lookups land anywhere: read only the page asked for, not its neighbours (no read-ahead),
    # so a worker's resident share is the pages it used.
    mapped.madvise(mmap.MADV_RANDOM)
    return mapped


def merged(generation: Generation, replaced: dict[tuple[int, int], list[tuple]],
           size: int = 1_000_000) -> Iterator[np.ndarray]:
    """The generation's records with those of the digests in ``replaced`` swapped for the given ones.

    ``replaced`` maps a digest's (hi, lo) to its new raw records (hi, lo, at, account, list,
    code), an empty list for a digest that has none left. Sorted RECORD arrays, in order.
    """
    new = np.array([record for records in replaced.values() for record in records], dtype=RECORD)
    new = new[np.argsort(new["hi"], kind="stable")]
    touched = np.array(sorted({hi for hi, _lo in replaced}), dtype="<u8")
    taken = 0
    chunks = list(generation.chunks(size)) or [(0, generation.keys, np.zeros(0, dtype=REST))]
    for number, (start, keys, rest) in enumerate(chunks):
        keep = np.ones(len(keys), dtype=bool)
        for i in np.flatnonzero(np.isin(keys, touched)):
            if (int(keys[i]), int(rest["lo"][i])) in replaced:
                keep[i] = False
        out = np.empty(int(keep.sum()), dtype=RECORD)
        out["hi"] = keys[keep]
        for field in REST.names:
            out[field] = rest[field][keep]
        last = number == len(chunks) - 1
        until = len(new) if last else int(np.searchsorted(new["hi"], chunks[number + 1][1][0]))
        if until > taken:
            out = np.concatenate([out, new[taken:until]])
            out = out[np.argsort(out["hi"], kind="stable")]
            taken = until
        yield out
