"""The status history as the ledger of account events: each account's changes form a hash chain.

Rows are only ever inserted: database guards (migration ``e4b7a19c2d50``) refuse UPDATE and
DELETE on both databases, and TRUNCATE on PostgreSQL. The chain makes a change made behind the
guards (by someone with the database's own rights) visible: each change's ``hash`` covers its
fields and the hash of the change before it, as the consent ledger's events do.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from portal.consent.verify import canonical, sha256_hex
from portal.db import isoformat
from portal.extensions import db

#: ``prev_hash`` of each account's first change.
GENESIS = "0" * 64
_COLUMNS = ("account_id", "seq", "from_status", "to_status", "reason", "evidence", "actor", "operator_id",
            "decision", "note", "created_at", "prev_hash", "hash")


def normalised(evidence: dict | None) -> dict:
    """Evidence as the database gives it back (JSON types, string keys), so it hashes the same."""
    return json.loads(json.dumps(evidence or {}))


def change_payload(change) -> dict[str, Any]:
    """The fields a change's hash covers (version 1: the migration that adds the chain uses it too)."""
    return {"account_id": change.account_id, "seq": change.seq, "from_status": change.from_status,
            "to_status": change.to_status, "reason": change.reason, "evidence": change.evidence or {},
            "actor": change.actor, "operator_id": change.operator_id, "decision": change.decision,
            "note": change.note, "at": isoformat(change.created_at), "prev_hash": change.prev_hash}


def change_hash(change) -> str:
    """SHA-256 of the change's canonical payload (the consent ledger's canonical JSON)."""
    return sha256_hex(canonical(change_payload(change)))


def last_link(account_id: str) -> tuple[int, str]:
    """``(seq, hash)`` of the account's newest change, or ``(0, GENESIS)``."""
    from portal.accounts.models import AccountStatusChange

    row = db.session.execute(select(AccountStatusChange.seq, AccountStatusChange.hash)
                             .where(AccountStatusChange.account_id == account_id)
                             .order_by(AccountStatusChange.seq.desc()).limit(1)).first()
    return (row.seq, row.hash) if row is not None else (0, GENESIS)


@dataclass(frozen=True)
class HistoryCheck:
    """What :func:`verify` found: the changes read, and the first that does not fit its chain."""

    changes: int
    broken_at: int | None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(account_id: str) -> HistoryCheck:
    """Recompute the account's chain: each change in order, its hash, its link to the one before."""
    from portal.accounts.models import AccountStatusChange

    # Columns, not ORM objects: the identity map could hand back what this session saw before.
    expected_seq, prev_hash, count = 1, GENESIS, 0
    columns = [getattr(AccountStatusChange, name) for name in _COLUMNS]
    for change in db.session.execute(select(*columns).where(AccountStatusChange.account_id == account_id)
                                     .order_by(AccountStatusChange.seq)).all():
        count += 1
        if change.seq != expected_seq or change.prev_hash != prev_hash or change.hash != change_hash(change):
            return HistoryCheck(count, change.seq)
        expected_seq, prev_hash = change.seq + 1, change.hash
    return HistoryCheck(count, None)
