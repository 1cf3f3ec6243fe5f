"""Where an upload waits for its worker: in the database, in chunks (``import_upload_chunks``).

The database is shared by every web process and worker on every machine, so any worker can
run any import; a file under the instance directory would be on one machine only. While it is
stored the upload is hashed and given the checks that need no row to be read: it is not
empty, it is UTF-8 (or UTF-16 with its byte-order mark), it holds no NUL character, and its
header names an ``email`` column. A file that fails them is refused (422) before any job exists.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
from typing import IO

from sqlalchemy import delete, select

from portal.extensions import db
from portal.imports.models import Import, UploadChunk
from portal.imports.reading import UnreadableFile, column_map, separator

#: Bytes per stored chunk (one row of ``import_upload_chunks``).
CHUNK_BYTES = 1 << 20


class _Checker:
    """Decodes the upload as it passes, to refuse what cannot be imported before it is queued."""

    def __init__(self):
        self.decoder = None
        self.lines = 0
        self.header = ""
        self.header_done = False

    def feed(self, data: bytes, final: bool = False) -> None:
        if self.decoder is None:
            if len(data) < 2 and not final:
                raise AssertionError("feed at least two bytes first")
            utf16 = data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
            self.decoder = codecs.getincrementaldecoder("utf-16" if utf16 else "utf-8-sig")()
        try:
            text = self.decoder.decode(data, final)
        except UnicodeDecodeError as error:
            line = self.lines + data[: error.start].count(b"\n") + 1
            raise UnreadableFile(f"The file is not UTF-8 text (line {line}). Save it as 'CSV UTF-8' and "
                                 "upload it again.", code="not_utf8") from None
        nul = text.find("\0")
        if nul >= 0:
            line = self.lines + text.count("\n", 0, nul) + 1
            raise UnreadableFile(f"The file holds a NUL character (line {line}): it is not a CSV text file. "
                                 "Export it again as CSV.", code="nul_character")
        if not self.header_done:
            self._header(text, final)
        self.lines += text.count("\n")

    def _header(self, text: str, final: bool) -> None:
        self.header += text
        end = self.header.find("\n")
        if end < 0 and not final and len(self.header) < CHUNK_BYTES:
            return
        self.header_done = True
        first = self.header[: end if end >= 0 else len(self.header)]
        if not first.strip():
            raise UnreadableFile("The file is empty: the first line must name the columns.", code="empty_file")
        try:
            titles = next(csv.reader([first], delimiter=separator(first)))
        except csv.Error as error:
            raise UnreadableFile(f"The first line is not valid CSV: {error}.", code="invalid_csv") from None
        column_map(titles)
        self.header = ""


def store(record: Import, stream: IO[bytes]) -> None:
    """Copy ``stream`` into the import's chunks, checking it; sets size and SHA-256 (flushes).

    :raises UnreadableFile: empty, not UTF-8, a NUL character, no ``email`` column (422).
    """
    checker, digest, size, seq = _Checker(), hashlib.sha256(), 0, 0
    pending = b""
    while True:
        data = stream.read(CHUNK_BYTES)
        if not data:
            break
        digest.update(data)
        size += len(data)
        pending += data
        if len(pending) >= 2:
            checker.feed(pending)
            db.session.add(UploadChunk(import_id=record.id, seq=seq, data=pending))
            db.session.flush()
            seq, pending = seq + 1, b""
    checker.feed(pending, final=True)
    if pending:
        db.session.add(UploadChunk(import_id=record.id, seq=seq, data=pending))
    record.file_sha256, record.file_bytes = digest.hexdigest(), size
    db.session.flush()


class UploadStream(io.RawIOBase):
    """The stored upload as a binary stream, read one chunk at a time (bounded memory)."""

    def __init__(self, import_id: str):
        self.import_id = import_id
        self._seq = 0
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if not self._buffer:
            data = db.session.scalar(select(UploadChunk.data).where(
                UploadChunk.import_id == self.import_id, UploadChunk.seq == self._seq))
            if data is None:
                return 0
            self._seq += 1
            self._buffer = memoryview(bytes(data))
        count = min(len(buffer), len(self._buffer))
        buffer[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count


def discard(import_id: str) -> None:
    """Delete the stored upload (the import is over)."""
    db.session.execute(delete(UploadChunk).where(UploadChunk.import_id == import_id))
