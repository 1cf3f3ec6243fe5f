"""The changes feed of suppressions: every addition and removal, in commit order, for readers that
keep a copy (the sending platform, the shared index).

Commit order of the feed: on PostgreSQL a feed row is written with a provisional, negative ``seq``; just
before its transaction commits, the writer takes one transaction-scoped advisory lock
(:func:`lock_feed`) and gives its rows their numbers from the feed's sequence (:func:`_number_feed`),
keeping the lock to its commit. Feed rows therefore carry their final ``seq`` in commit order, and
a reader that has seen ``seq`` N never later sees a row below N appear (no skipped rows,
concurrent writers included); a provisional number is never seen by anyone else. The lock is held
for the renumbering and the commit only, not for the rest of the writer's transaction (the ledger,
the outbox, the webhooks): under a burst of unsubscribes, holding it from the first write to the
commit made every writer of the machine wait in line (``bench/load.py --profile``). Two writers of
the same entry are kept apart by the entry itself: its unique key for additions, its row lock
for removals. SQLite has one writer at a time, which gives the same order for free.
"""
from __future__ import annotations

from sqlalchemy import event, func, or_, select, text
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.extensions import db
from portal.suppression.models import Suppression, SuppressionChange, SuppressionScope

#: The advisory-lock key that serialises feed appends on PostgreSQL ("supp" in ASCII).
FEED_LOCK = 0x73757070
#: ``session.info`` key: the provisional ``seq`` of the feed rows this transaction wrote.
PROVISIONAL = "suppression_feed_provisional"
#: New numbers for a transaction's feed rows, in the order of their provisional ones.
RENUMBER = text("""
    UPDATE suppression_changes SET seq = renumbered.new FROM (
        SELECT old, nextval(pg_get_serial_sequence('suppression_changes', 'seq')) AS new FROM (
            SELECT old FROM unnest(CAST(:old AS BIGINT[])) WITH ORDINALITY AS given(old, position) ORDER BY position
        ) AS ordered
    ) AS renumbered
    WHERE suppression_changes.seq = renumbered.old""")
#: Provisional numbers are negative and unique to their transaction (its id) and row, so the feed's
#: sequence gives numbers only to rows as they commit: no gaps of the renumbering's making.
ROWS_PER_TRANSACTION = 1 << 20
CURRENT_XACT = text("SELECT CAST(CAST(pg_current_xact_id() AS TEXT) AS BIGINT)")


def lock_feed(session: Session | None = None) -> None:
    """Take the feed's write lock until the end of the transaction (PostgreSQL; no-op on SQLite)."""
    session = session or db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_LOCK})


def provisional(changes: list[SuppressionChange]) -> None:
    """Number feed rows before their flush, provisionally (PostgreSQL), and remember them: they are
    numbered for good just before the transaction commits (:func:`_number_feed`)."""
    pending = db.session.info.setdefault(PROVISIONAL, {"xact": None, "seqs": []})
    if db.session.get_bind().dialect.name == "postgresql":
        if pending["xact"] is None:
            pending["xact"] = db.session.scalar(CURRENT_XACT)
        for change in changes:
            if len(pending["seqs"]) < ROWS_PER_TRANSACTION:  # beyond, the sequence numbers it
                change.seq = -(pending["xact"] * ROWS_PER_TRANSACTION + len(pending["seqs"]) + 1)
                pending["seqs"].append(change.seq)
    db.session.add_all(changes)
    db.session.flush()
    pending["seqs"].extend(change.seq for change in changes if change.seq > 0)


@event.listens_for(Session, "before_commit")
def _number_feed(session: Session) -> None:
    """Give this transaction's feed rows their final ``seq``, under the feed lock held to the commit."""
    if session.in_nested_transaction():
        return  # a savepoint's release (SQLAlchemy calls this hook for those too): not the commit
    session.flush()
    pending = session.info.pop(PROVISIONAL, None)
    if not pending or not pending["seqs"] or session.get_bind().dialect.name != "postgresql":
        return
    lock_feed(session)
    session.execute(RENUMBER, {"old": pending["seqs"]})
    for change in [obj for obj in session.identity_map.values() if isinstance(obj, SuppressionChange)]:
        session.expunge(change)  # its identity was the provisional number


@event.listens_for(Session, "after_rollback")
def _forget_feed(session: Session) -> None:
    """A rolled-back transaction's feed rows are gone: nothing to number."""
    session.info.pop(PROVISIONAL, None)


def append(op: str, entry: Suppression, *, note: str | None, source: str | None, channel: str | None,
          ledger_event_id: int | None) -> SuppressionChange:
    # An addition's time is its entry's, so that a reader's copy has the entry's created_at.
    change = SuppressionChange(op=op, email_hash=entry.email_hash, email=entry.email, scope=entry.scope,
                               account_id=entry.account_id, list_id=entry.list_id, reason=entry.reason,
                               note=note, source=source, at=entry.created_at if op == "add" else utcnow(),
                               channel=channel, ledger_event_id=ledger_event_id)
    provisional([change])
    entry.feed_change = change  # not a column: lets the caller name the ledger event it writes next (link)
    return change


def link(entry: Suppression | None, ledger_event_id: int) -> None:
    """Name the ledger event that caused ``entry``'s latest change, written after the change (flushes)."""
    change = getattr(entry, "feed_change", None)
    if change is not None and change.ledger_event_id is None:
        change.ledger_event_id = ledger_event_id
        db.session.flush()


def changes_for(account_id: str | None):
    """The feed rows a reader of ``account_id`` sees (its scopes and global; all with None)."""
    query = select(SuppressionChange)
    if account_id is not None:
        query = query.where(or_(SuppressionChange.account_id == account_id,
                                SuppressionChange.scope == SuppressionScope.GLOBAL))
    return query


def last_seq() -> int:
    """The newest ``seq`` of the feed (0 when empty)."""
    return db.session.scalar(LAST_SEQ)


def last_seq_on(connection) -> int:
    """:func:`last_seq`, read on ``connection``."""
    return connection.scalar(LAST_SEQ)


#: The newest ``seq`` of the feed (0 when empty).
LAST_SEQ = select(func.coalesce(func.max(SuppressionChange.seq), 0))
