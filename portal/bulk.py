"""Bulk inserts of a few thousand rows at once, in the session's transaction: PostgreSQL ``COPY``.

Shared by imports and the outbox (which imports no domain), so it lives beside :mod:`portal.db`.
"""
from __future__ import annotations

from itertools import chain
from typing import Any, Iterable

import orjson
from sqlalchemy import JSON

from portal.extensions import db


def write_rows(table, rows: Iterable[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys): PostgreSQL ``COPY`` (psycopg), else one executemany.

    ``rows`` may be a generator: on PostgreSQL each row is sent as it is made, so the database
    writes the first rows while Python still makes the next. It must not use the session (the
    ``COPY`` holds the connection); its first row is made before the ``COPY`` starts.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        rows = list(rows)
        if rows:
            db.session.execute(table.insert(), rows)
        return
    copy_rows(table.name, table, rows)


def copy_rows(target: str, table, rows: Iterable[dict[str, Any]]) -> None:
    """``COPY target (columns of rows) FROM STDIN`` in the session's transaction (psycopg); rows
    may be a generator (see :func:`write_rows`)."""
    from psycopg.types.json import Jsonb

    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    columns = list(first)
    json_columns = {name for name in columns if isinstance(table.c[name].type, JSON)}
    cursor = db.session.connection().connection.driver_connection.cursor()
    names = ", ".join(f'"{name}"' for name in columns)
    with cursor, cursor.copy(f'COPY "{target}" ({names}) FROM STDIN') as copy:
        for row in chain((first,), rows):
            copy.write_row([Jsonb(row[name], dumps=orjson.dumps) if name in json_columns and row[name] is not None
                            else row[name] for name in columns])
