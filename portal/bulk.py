"""Bulk inserts of a few thousand rows at once, in the session's transaction: PostgreSQL ``COPY``.

Shared by imports and the outbox (which imports no domain), so it lives beside :mod:`portal.db`.
"""
from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import JSON

from portal.extensions import db


def write_rows(table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys): PostgreSQL ``COPY`` (psycopg), else one executemany."""
    if not rows:
        return
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(table.insert(), rows)
        return
    copy_rows(table.name, table, rows)


def copy_rows(target: str, table, rows: list[dict[str, Any]]) -> None:
    """``COPY target (columns of rows) FROM STDIN`` in the session's transaction (psycopg)."""
    from psycopg.types.json import Jsonb

    columns = list(rows[0])
    json_columns = {name for name in columns if isinstance(table.c[name].type, JSON)}
    cursor = db.session.connection().connection.driver_connection.cursor()
    names = ", ".join(f'"{name}"' for name in columns)
    with cursor, cursor.copy(f'COPY "{target}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([Jsonb(row[name], dumps=orjson.dumps) if name in json_columns and row[name] is not None
                            else row[name] for name in columns])
