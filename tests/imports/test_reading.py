"""Reading uploads: the hash covers every byte, rows are numbered as a spreadsheet does."""
import hashlib
import io

import pytest

from portal.imports.reading import HashingReader, UnreadableFile, read_rows


def rows_of(data: bytes):
    reader = HashingReader(io.BytesIO(data))
    return [(row.number, row.values) for row in read_rows(reader)], reader


def test_hash_and_size_cover_the_whole_upload():
    data = b"email,unknown\n" + b"".join(b"p%d@example.org,x\n" % i for i in range(20000))
    rows, reader = rows_of(data)
    assert len(rows) == 20000 and rows[0] == (2, {"email": "p0@example.org"})
    assert reader.sha256.hexdigest() == hashlib.sha256(data).hexdigest() and reader.size == len(data)


def test_quoted_newlines_blank_lines_and_short_rows():
    data = b'email,name,source\n"a@example.org","two\nlines, and comma"\n\nb@example.org\n'
    rows, _ = rows_of(data)
    assert rows == [(2, {"email": "a@example.org", "name": "two\nlines, and comma"}),
                    (4, {"email": "b@example.org"})]


def test_invalid_utf8_names_its_line():
    with pytest.raises(UnreadableFile) as error:
        rows_of(b"email,name\na@example.org,ok\nb@example.org,Zo\xeb\n")
    assert error.value.code == "not_utf8" and "line 3" in error.value.message


def test_a_runaway_field_is_invalid_csv():
    import csv

    with pytest.raises(UnreadableFile) as error:
        rows_of(b'email,name\na@example.org,"' + b"x" * (csv.field_size_limit() + 10) + b"\n")
    assert error.value.code == "invalid_csv"
