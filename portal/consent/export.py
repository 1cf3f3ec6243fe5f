"""The account's whole consent ledger as NDJSON, read in keyset pages: constant memory.

The ledger is a leaf: it joins the ``consent_texts`` table (:mod:`portal.subscriptions`) by name,
as :mod:`portal.consent.notices` reads ``privacy_notices``.
"""
from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Any, Iterator

import orjson
from sqlalchemy import Text, case, cast, func, select

from portal.consent.models import ConsentEvent
from portal.db import isoformat
from portal.errors import ValidationFailed
from portal.extensions import db

PAGE_SIZE = 2000


@functools.cache
def _texts():
    """The ``consent_texts`` table, read by name (the ledger imports no domain)."""
    return ConsentEvent.__table__.metadata.tables["consent_texts"]


@functools.cache
def _columns() -> tuple:
    texts = _texts().c
    return (ConsentEvent.id, ConsentEvent.contact_id, ConsentEvent.seq, ConsentEvent.type,
            ConsentEvent.occurred_at, ConsentEvent.list_id, ConsentEvent.source, ConsentEvent.actor,
            ConsentEvent.actor_key_id, ConsentEvent.message_ref, ConsentEvent.consent_text_id,
            cast(ConsentEvent.evidence, Text).label("evidence"), ConsentEvent.email, ConsentEvent.ip,
            ConsentEvent.ip_prefix, ConsentEvent.user_agent, ConsentEvent.page_url, ConsentEvent.hash,
            ConsentEvent.prev_hash, ConsentEvent.redacted_at.is_not(None).label("redacted"),
            texts.form_id, texts.version.label("text_version"), texts.text.label("text"),
            texts.locale.label("text_locale"))


#: The time as :func:`portal.db.isoformat` writes it, written by PostgreSQL (no datetime made a row):
#: UTC, microseconds only when not zero, a ``Z``.
_PG_OCCURRED_AT = (
    func.to_char(func.timezone("UTC", ConsentEvent.occurred_at), 'YYYY-MM-DD"T"HH24:MI:SS')
    + case((func.extract("microseconds", ConsentEvent.occurred_at) % 1_000_000 == 0, ""),
           else_=func.to_char(func.timezone("UTC", ConsentEvent.occurred_at), ".US")) + "Z")


def parse_time(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 query value as an aware UTC datetime (naive means UTC); 422 when it is not one."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace(" ", "+"))
    except ValueError:
        raise ValidationFailed(f"{name} must be an ISO 8601 time, like 2026-01-31T00:00:00Z.") from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed


def _page(account_id: str, after: int, since, until, list_id):
    connection = db.session.connection()
    columns = _columns()
    if connection.dialect.name == "postgresql":
        columns = columns[:4] + (_PG_OCCURRED_AT.label("occurred_at"),) + columns[5:]
    query = (select(*columns).outerjoin(_texts(), _texts().c.id == ConsentEvent.consent_text_id)
             .where(ConsentEvent.account_id == account_id, ConsentEvent.id > after))
    if since is not None:
        query = query.where(ConsentEvent.occurred_at >= since)
    if until is not None:
        query = query.where(ConsentEvent.occurred_at < until)
    if list_id is not None:
        query = query.where(ConsentEvent.list_id == list_id)
    # Core, not ORM, execution: plain tuples, no per-row entity processing.
    return connection.execute(query.order_by(ConsentEvent.id).limit(PAGE_SIZE)).all()


def line(row) -> dict[str, Any]:
    """One event: who, when, how, from which form, the exact consent text shown, the evidence.

    ``row`` is a page's tuple (the evidence as JSON text, decoded here by ``orjson``; the time
    as a datetime, or on PostgreSQL already as the text the answer carries).
    """
    (event_id, contact_id, seq, type_, occurred_at, list_id, source, actor, actor_key_id, message_ref, text_id,
     evidence, email, ip, prefix, user_agent, page_url, hashed, prev_hash, redacted, form_id, text_version,
     text, text_locale) = row
    evidence = orjson.loads(evidence) if evidence else {}
    consent_text = None if text_id is None else {
        "id": text_id, "form_id": form_id, "version": text_version, "locale": text_locale, "text": text}
    return {"id": event_id, "contact_id": contact_id, "seq": seq, "type": type_,
            "occurred_at": occurred_at if type(occurred_at) is str else isoformat(occurred_at),
            "email": email, "list_id": list_id,
            "source": source, "actor": None if actor is None else {"type": actor, "key_id": actor_key_id},
            "form_id": form_id or (evidence or {}).get("form_id"),
            "consent_text": consent_text, "ip": ip, "ip_prefix": prefix, "user_agent": user_agent,
            "page_url": page_url, "message_ref": message_ref, "evidence": evidence or {},
            "redacted": bool(redacted), "hash": hashed, "prev_hash": prev_hash}


def export_lines(account_id: str, *, since: datetime | None = None, until: datetime | None = None,
                 list_id: str | None = None) -> Iterator[bytes]:
    """NDJSON chunks (one page of events each, UTF-8), oldest event first, without holding the ledger.

    ``orjson`` writes each line: the text ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))``
    wrote, several times faster.
    """
    after = 0
    while True:
        rows = _page(account_id, after, since, until, list_id)
        if not rows:
            return
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        yield b"".join(dumps(line(row), option=newline) for row in rows)
        after = rows[-1][0]
        if len(rows) < PAGE_SIZE:
            return
