"""Reading an uploaded CSV as a stream: encoding, separator, header names, a hash of the bytes.

The file is never held in memory: bytes pass through a hashing reader, a text decoder and
the csv module one buffer at a time.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
from dataclasses import dataclass
from typing import IO, Iterator

from portal.errors import ValidationFailed

#: The columns the portal reads; others are ignored.
COLUMNS = ("email", "name", "consented_at", "last_contacted_at", "source")
#: Header spellings accepted besides the column names themselves.
ALIASES = {"e-mail": "email", "email address": "email", "email_address": "email"}
SEPARATORS = (",", ";", "\t")
_BUFFER = 1 << 16


class UnreadableFile(ValidationFailed):
    """The upload is not a CSV file the portal can read."""

    code = "unreadable_file"


class HashingReader(io.RawIOBase):
    """A binary stream that hashes (SHA-256) and counts the bytes read through it."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        self.sha256.update(data)
        self.size += len(data)
        buffer[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        """Read what is left, so the hash covers the whole upload."""
        for chunk in iter(lambda: self.stream.read(_BUFFER), b""):
            self.sha256.update(chunk)
            self.size += len(chunk)


@dataclass
class Row:
    """One data row: its record number (header = 1) and its values by column name."""

    number: int
    values: dict[str, str]


def separator(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def column_map(header: list[str]) -> dict[int, str]:
    """Header position -> column name, names matched in any case and spacing."""
    positions: dict[int, str] = {}
    for index, title in enumerate(header):
        name = " ".join(title.strip().lower().split())
        name = ALIASES.get(name, name.replace(" ", "_"))
        if name in COLUMNS and name not in positions.values():
            positions[index] = name
    if "email" not in positions.values():
        raise UnreadableFile("The file has no 'email' column. The first line must name the columns: "
                             + ", ".join(COLUMNS) + ".", code="missing_email_column")
    return positions


class _Lines:
    """The file's lines as text, counting them so a decoding error can name its line."""

    def __init__(self, buffered: io.BufferedReader):
        self.number = 0
        if buffered.peek(2)[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            # What spreadsheets call "Unicode text"; the codec reads the BOM.
            self._source = io.TextIOWrapper(buffered, encoding="utf-16", newline="")
        else:
            self._source = self._utf8(buffered)

    @staticmethod
    def _utf8(buffered: io.BufferedReader) -> Iterator[str]:
        decode = codecs.getdecoder("utf-8-sig")  # with or without a byte-order mark
        first = True
        for line in buffered:
            yield decode(line)[0] if first else line.decode("utf-8")
            first = False

    def __iter__(self) -> Iterator[str]:
        for line in self._source:
            self.number += 1
            yield line


def read_rows(reader: HashingReader) -> Iterator[Row]:
    """The data rows of a CSV upload; :class:`UnreadableFile` (422) when it cannot be read."""
    lines = _Lines(io.BufferedReader(reader, _BUFFER))
    source = iter(lines)
    try:
        first = next(source, "")
        records = csv.reader(_chain(first, source), delimiter=separator(first))
        if not first.strip():
            raise UnreadableFile("The file is empty: the first line must name the columns.", code="empty_file")
        positions = column_map(next(records))
        for number, record in enumerate(records, start=2):
            if not any(cell.strip() for cell in record):
                continue
            yield Row(number, {name: record[i].strip() for i, name in positions.items() if i < len(record)})
    except UnicodeDecodeError:
        raise UnreadableFile(f"The file is not UTF-8 text (line {lines.number + 1}). Save it as "
                             "'CSV UTF-8' and upload it again.", code="not_utf8") from None
    except csv.Error as error:
        raise UnreadableFile(f"The file is not valid CSV near line {lines.number}: {error}.",
                             code="invalid_csv") from None
    reader.drain()


def _chain(first: str, rest: IO[str]) -> Iterator[str]:
    yield first
    yield from rest
