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
  another database, or a re-created one), the string table, and each data file's size and
  CRC-32 checksums (checked on open: see :class:`Generation`).

Every file is written under a temporary name, flushed to disk (``fsync``) and only then
renamed, and the directory is synced after the renames, so a crash or a power loss leaves
the old generation or the new one, never a torn file under a final name. A write that fails
removes its temporary files.

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
import shutil
import struct
import tempfile
import uuid
import zlib
from bisect import bisect_left
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator

import numpy as np

from portal.db import isoformat
from portal.suppression.models import SuppressionReason, SuppressionScope

FORMAT = 2
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
#: A data file up to this size is checksummed whole when opened (0.1 s at 2.4 GB/s); a larger one
#: in :data:`SAMPLE_BLOCKS` blocks spread over it (its first and last included), so that opening
#: 100,000,000 entries stays in milliseconds. Its size is always checked.
VERIFY_WHOLE = 256 << 20
SAMPLE_BLOCKS, SAMPLE_BYTES = 64, 64 << 10


class DamagedGeneration(ValueError):
    """A generation's files are missing a part, or are not what was written (size or checksum)."""

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

    The files get their final names only once complete and on disk; ``current`` is not changed
    (see :func:`publish`). On any failure the temporary files are removed and the error raised.
    """
    os.makedirs(directory, exist_ok=True)
    name = f"{seq:015d}-{uuid.uuid4().hex[:8]}"
    base = os.path.join(directory, name)
    temporary = [base + ext + ".tmp" for ext in (".keys", ".rest", ".json")]
    try:
        count, sums = 0, {"keys": 0, "rest": 0}
        with open(temporary[0], "wb") as keys, open(temporary[1], "wb") as rest:
            for chunk in chunks:
                packed = np.empty(len(chunk), dtype=REST)
                for field in REST.names:
                    packed[field] = chunk[field]
                for kind, out, data in (("keys", keys, np.ascontiguousarray(chunk["hi"]).tobytes()),
                                        ("rest", rest, packed.tobytes())):
                    out.write(data)
                    sums[kind] = zlib.crc32(data, sums[kind])
                count += len(chunk)
            files = {}
            for kind, out in (("keys", keys), ("rest", rest)):
                _sync(out)
                files[kind] = {"size": out.tell(), "crc32": sums[kind], "sample": _sample_crc(out.name, out.tell())}
        meta = {"format": FORMAT, "count": count, "seq": seq, "fingerprint": fingerprint, "strings": strings,
                "files": files}
        with open(temporary[2], "w") as out:
            json.dump(meta, out)
            _sync(out)
        for path in temporary:  # the .json last: a generation without it is never opened
            os.replace(path, path[:-len(".tmp")])
        _sync_directory(directory)
    except BaseException:
        for path in temporary:
            _unlink(path)
            if not os.path.exists(base + ".json"):
                _unlink(path[:-len(".tmp")])
        raise
    return name


def _sync(handle) -> None:
    """Flush ``handle`` to the disk (not only to the page cache)."""
    handle.flush()
    os.fsync(handle.fileno())


def _sync_directory(directory: str) -> None:
    """Make the renames in ``directory`` durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _sample_spots(size: int) -> list[int]:
    """Where the sampled blocks of a file of ``size`` bytes start: spread evenly, first and last included."""
    if size <= SAMPLE_BYTES:
        return [0]
    last = size - SAMPLE_BYTES
    return sorted({last * n // (SAMPLE_BLOCKS - 1) for n in range(SAMPLE_BLOCKS)})


def _sample_crc(path: str, size: int) -> int:
    """CRC-32 of the sampled blocks of the file at ``path`` (see :data:`VERIFY_WHOLE`)."""
    crc = 0
    with open(path, "rb") as source:
        for spot in _sample_spots(size):
            source.seek(spot)
            crc = zlib.crc32(source.read(SAMPLE_BYTES), crc)
    return crc


def sweep(directory: str) -> list[str]:
    """Remove what no reader can need: temporary files, sort buckets and generations ``current`` does not name.

    Called by the one process that holds the directory's lock (the only one that writes), so
    anything temporary is left over from a writer that died. Returns the names removed.
    """
    keep, removed = current(directory), []
    for entry in os.listdir(directory) if os.path.isdir(directory) else []:
        path = os.path.join(directory, entry)
        stale = entry.endswith(".tmp") or entry.startswith("buckets-") or \
            entry.endswith((".keys", ".rest", ".json")) and entry.split(".", 1)[0] != keep
        if not stale:
            continue
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            _unlink(path)
        removed.append(entry)
    return removed


def publish(directory: str, name: str) -> None:
    """Make ``name`` the current generation, and delete the others (mappings of them stay valid)."""
    path = os.path.join(directory, "current")
    with open(path + ".tmp", "w") as out:
        out.write(name)
        _sync(out)
    os.replace(path + ".tmp", path)
    _sync_directory(directory)
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
    """One generation, mapped read-only: shared with every process that maps it.

    Opening checks what was written: the format, each file's size, and its CRC-32 (whole up
    to :data:`VERIFY_WHOLE`, sampled blocks beyond). A damaged generation raises
    :class:`DamagedGeneration` (a missing one ``FileNotFoundError``), never answers.
    """

    def __init__(self, directory: str, name: str) -> None:
        base = os.path.join(directory, name)
        with open(base + ".json") as source:
            try:
                meta = json.load(source)
            except ValueError as error:
                raise DamagedGeneration(f"suppression index {name}: its description is not JSON ({error})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = meta.get("format") if isinstance(meta, dict) else None
            raise DamagedGeneration(f"suppression index {name}: unknown format {found!r}")
        try:
            self.name, self.count, self.seq = name, int(meta["count"]), int(meta["seq"])
            self.fingerprint, self.strings, files = meta["fingerprint"], meta["strings"], meta["files"]
            sizes = {"keys": 8 * self.count, "rest": REST.itemsize * self.count}
            if any(files[kind]["size"] != size for kind, size in sizes.items()):
                raise DamagedGeneration(f"suppression index {name}: sizes do not match the count")
        except (KeyError, TypeError) as error:
            raise DamagedGeneration(f"suppression index {name}: its description lacks {error}") from None
        self.keys = np.zeros(0, dtype="<u8")
        self.key_view: memoryview | tuple = ()
        self.rest: mmap.mmap | bytes = b""
        self.records = np.zeros(0, dtype=REST)
        if self.count:
            self._keys_map = _map(base + ".keys", files["keys"])
            self.rest = _map(base + ".rest", files["rest"])
            self.keys = np.frombuffer(self._keys_map, dtype="<u8")
            self.key_view = memoryview(self._keys_map).cast("Q")
            self.records = np.frombuffer(self.rest, dtype=REST)

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

    def find(self, his: np.ndarray, los: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(indices into ``his``/``los``, record position) of every record of those digests, as arrays.

        One ``searchsorted`` for the batch, then the runs of equal keys (an address's scopes
        are adjacent) walked a step at a time for all candidates at once.
        """
        which, places = self.candidates(his)
        keys, lo, last = self.keys, self.records["lo"], self.count - 1
        hit_which, hit_places = [], []
        while len(which):
            match = lo[places] == los[which]
            hit_which.append(which[match])
            hit_places.append(places[match])
            places = places + 1
            go_on = places <= last
            which, places = which[go_on], places[go_on]
            same = keys[places] == his[which]
            which, places = which[same], places[same]
        if not hit_which:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
        return np.concatenate(hit_which), np.concatenate(hit_places)

    def entries(self, places: np.ndarray) -> list[Entry]:
        """The entries at ``places`` (decoded as arrays, then one tuple each)."""
        if not len(places):
            return []
        records = self.records[places]
        strings, scopes, reasons = self.strings, SCOPES, REASONS
        return [(scopes[packed >> 4], strings[account], strings[list_id], reasons[packed & 15], _iso(at))
                for at, account, list_id, packed in zip(records["at"].tolist(), records["account"].tolist(),
                                                        records["list"].tolist(), records["code"].tolist())]

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


def _map(path: str, expected: dict) -> mmap.mmap:
    """``path`` mapped read-only, once its size and checksum are what was written."""
    size = expected["size"]
    with open(path, "rb") as source:
        if os.fstat(source.fileno()).st_size != size:
            raise DamagedGeneration(f"suppression index file {path} has the wrong size")
        mapped = mmap.mmap(source.fileno(), size, access=mmap.ACCESS_READ)
    if size <= VERIFY_WHOLE:
        good = zlib.crc32(mapped) == expected["crc32"]
    else:
        good = _sample_crc(path, size) == expected["sample"]
    if not good:
        mapped.close()
        raise DamagedGeneration(f"suppression index file {path} does not match its checksum")
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
