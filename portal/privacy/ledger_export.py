"""The account's whole consent ledger as NDJSON, read in keyset pages: constant memory."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterator

from sqlalchemy import select

from portal.consent import operations as ledger
from portal.consent.models import ConsentEvent
from portal.db import isoformat
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.subscriptions.models import ConsentText

PAGE_SIZE = 2000

_COLUMNS = (ConsentEvent.id, ConsentEvent.contact_id, ConsentEvent.seq, ConsentEvent.type,
            ConsentEvent.occurred_at, ConsentEvent.list_id, ConsentEvent.source, ConsentEvent.actor,
            ConsentEvent.actor_key_id, ConsentEvent.message_ref,
            ConsentEvent.consent_text_id, ConsentEvent.evidence, ConsentEvent.email, ConsentEvent.ip,
            ConsentEvent.ip_prefix, ConsentEvent.user_agent, ConsentEvent.page_url, ConsentEvent.hash,
            ConsentEvent.prev_hash, ConsentEvent.redacted_at,
            ConsentText.form_id, ConsentText.version.label("text_version"), ConsentText.text.label("text"))


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
    query = (select(*_COLUMNS).outerjoin(ConsentText, ConsentText.id == ConsentEvent.consent_text_id)
             .where(ConsentEvent.account_id == account_id, ConsentEvent.id > after))
    if since is not None:
        query = query.where(ConsentEvent.occurred_at >= since)
    if until is not None:
        query = query.where(ConsentEvent.occurred_at < until)
    if list_id is not None:
        query = query.where(ConsentEvent.list_id == list_id)
    return db.session.execute(query.order_by(ConsentEvent.id).limit(PAGE_SIZE)).all()


def line(row) -> dict[str, Any]:
    """One event: who, when, how, from which form, the exact consent text shown, the evidence."""
    text = None if row.consent_text_id is None else {
        "id": row.consent_text_id, "form_id": row.form_id, "version": row.text_version, "text": row.text}
    return {"id": row.id, "contact_id": row.contact_id, "seq": row.seq, "type": row.type,
            "occurred_at": isoformat(row.occurred_at), "email": row.email, "list_id": row.list_id,
            "source": row.source, "actor": ledger.actor_of(row),
            "form_id": row.form_id or (row.evidence or {}).get("form_id"),
            "consent_text": text, "ip": row.ip, "ip_prefix": row.ip_prefix, "user_agent": row.user_agent,
            "page_url": row.page_url, "message_ref": row.message_ref, "evidence": row.evidence or {},
            "redacted": row.redacted_at is not None, "hash": row.hash, "prev_hash": row.prev_hash}


def export_lines(account_id: str, *, since: datetime | None = None, until: datetime | None = None,
                 list_id: str | None = None) -> Iterator[str]:
    """NDJSON chunks (one page of events each), oldest event first, without holding the ledger."""
    after = 0
    while True:
        rows = _page(account_id, after, since, until, list_id)
        if not rows:
            return
        yield "".join(json.dumps(line(row), ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows)
        after = rows[-1].id
        if len(rows) < PAGE_SIZE:
            return
