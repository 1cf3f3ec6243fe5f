"""The privacy notice version in force, as the ledger records it on every event.

The ledger is a leaf: it reads the ``privacy_notices`` table (:mod:`portal.notices`) by name,
as it reads ``consent_texts``, and imports nothing of the domain that publishes them.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import case, select

from portal.consent.models import ConsentEvent
from portal.db import isoformat, utcnow
from portal.extensions import db


def _table():
    return ConsentEvent.__table__.metadata.tables["privacy_notices"]


def in_force(account_id: str, at: datetime) -> dict[str, Any] | None:
    """``{"id", "version", "sha256"}`` of the notice shown at ``at``: the account's own newest
    version in effect, else the platform's; None when neither has one."""
    notices = _table()
    row = db.session.execute(
        select(notices.c.id, notices.c.version, notices.c.sha256)
        .where(notices.c.owner.in_((f"account:{account_id}", "platform")), notices.c.effective_at <= at)
        .order_by(case((notices.c.owner == "platform", 1), else_=0), notices.c.effective_at.desc(),
                  notices.c.version.desc()).limit(1)).first()
    return None if row is None else {"id": row.id, "version": row.version, "sha256": row.sha256}


def in_force_now(account_id: str) -> dict[str, Any] | None:
    """:func:`in_force` now, read once per account and transaction: a batch (an import) writes
    many events at once, and they record the version in force as it is written."""
    transaction = db.session().get_transaction()
    cached = db.session.info.get("notices_in_force")
    if cached is None or cached[0] is not transaction:
        cached = db.session.info["notices_in_force"] = (transaction, {})
    if account_id not in cached[1]:
        cached[1][account_id] = in_force(account_id, utcnow())
    return cached[1][account_id]


def notice_document(row) -> dict[str, Any]:
    """A notice version's fields as its SHA-256 covers them (:func:`portal.consent.verify.notice_digest`)."""
    return {"id": row.id, "account_id": row.account_id, "version": row.version,
            "effective_at": isoformat(row.effective_at), "content": row.content}


def stored_digests() -> dict[int, tuple[int, str]]:
    """id -> (version, SHA-256 recomputed from its stored fields) of every notice version."""
    from portal.consent.verify import notice_digest

    return {row.id: (row.version, notice_digest(notice_document(row))) for row in db.session.execute(select(_table()))}


def notices_by_id(ids: Iterable[int]) -> list:
    """The stored notice versions with these ids, by id."""
    ids = sorted(ids)
    if not ids:
        return []
    notices = _table()
    return list(db.session.execute(select(notices).where(notices.c.id.in_(ids)).order_by(notices.c.id)))
