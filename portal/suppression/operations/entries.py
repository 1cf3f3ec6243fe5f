"""Adding, removing and finding suppressions; every change goes to the changes feed.

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

from typing import Iterable, Sequence

from sqlalchemy import ARRAY, String, any_, bindparam, event, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.addresses import email_hash
from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.webhooks import operations as webhooks
from portal.suppression.models import (Suppression, SuppressionChange, SuppressionChannel, SuppressionReason,
                                       SuppressionScope, scope_key)

#: The advisory-lock key that serialises feed appends on PostgreSQL ("supp" in ASCII).
FEED_LOCK = 0x73757070
#: Bound parameters per ``IN`` on SQLite (its variable limit may be as low as 999).
SQLITE_CHUNK = 900
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


def _provisional(changes: list[SuppressionChange]) -> None:
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


def _check(scope: str, reason: str, account_id: str | None, list_id: str | None) -> None:
    if scope not in SuppressionScope.ALL:
        raise ValidationFailed(f"unknown scope {scope!r}")
    if reason not in SuppressionReason.ALL:
        raise ValidationFailed(f"unknown reason {reason!r}")
    if scope == SuppressionScope.ACCOUNT and not account_id:
        raise ValidationFailed("an account suppression needs an account")
    if scope == SuppressionScope.LIST and not (list_id and account_id):
        raise ValidationFailed("a list suppression needs an account and a list")


def add(email: str, *, scope: str, reason: str, account_id: str | None = None, list_id: str | None = None,
        source: str | None = None, note: str | None = None, channel: str | None = None,
        ledger_event_id: int | None = None) -> Suppression | None:
    """Suppress the normalised ``email`` in a scope; None when it already was (idempotent).

    :param channel: how it came about (:class:`SuppressionChannel`), kept in the feed row; every
        writer of the portal gives it.
    :param ledger_event_id: the ledger event that caused it, when it is written first; else
        name it afterwards with :func:`link`.
    """
    _check(scope, reason, account_id, list_id)
    _check_channel(channel)
    if scope == SuppressionScope.GLOBAL:
        account_id = list_id = None
    elif scope == SuppressionScope.ACCOUNT:
        list_id = None
    key = scope_key(scope, account_id, list_id)
    hashed = email_hash(email)
    existing = db.session.scalars(select(Suppression).where(
        Suppression.email_hash == hashed, Suppression.scope_key == key)).first()
    if existing is not None:
        return None
    entry = Suppression(email_hash=hashed, email=email, scope=scope, scope_key=key, account_id=account_id,
                        list_id=list_id, reason=reason, source=source, note=note)
    try:
        with db.session.begin_nested():
            db.session.add(entry)
    except IntegrityError:
        return None  # added by a concurrent request
    _feed("add", entry, note=note, source=source, channel=channel, ledger_event_id=ledger_event_id)
    if account_id and reason != SuppressionReason.ERASED:  # an erasure names no one, even by webhook
        webhooks.emit(account_id, "suppressed", {"email": email, "email_hash": hashed, "scope": scope,
                                                 "list_id": list_id, "reason": reason})
    return entry


def remove(entry: Suppression, *, note: str, source: str | None = None, channel: str | None = None,
           ledger_event_id: int | None = None) -> bool:
    """Lift one suppression; the reason for lifting it is required and kept in the feed.

    False (and nothing fed) when a concurrent request lifted it first. ``channel`` and
    ``ledger_event_id`` as for :func:`add`.
    """
    if not note or not note.strip():
        raise ValidationFailed("Removing a suppression needs a reason.")
    _check_channel(channel)
    # The entry's row lock keeps two removers of it apart: the second finds it gone.
    if db.session.scalar(select(Suppression.id).where(Suppression.id == entry.id).with_for_update()) is None:
        db.session.expunge(entry)
        return False
    _feed("remove", entry, note=note, source=source, channel=channel, ledger_event_id=ledger_event_id)
    db.session.delete(entry)
    db.session.flush()
    return True


def _check_channel(channel: str | None) -> None:
    if channel is not None and channel not in SuppressionChannel.ALL:
        raise ValidationFailed(f"unknown channel {channel!r}")


def _feed(op: str, entry: Suppression, *, note: str | None, source: str | None, channel: str | None,
          ledger_event_id: int | None) -> SuppressionChange:
    # An addition's time is its entry's, so that a reader's copy has the entry's created_at.
    change = SuppressionChange(op=op, email_hash=entry.email_hash, email=entry.email, scope=entry.scope,
                               account_id=entry.account_id, list_id=entry.list_id, reason=entry.reason,
                               note=note, source=source, at=entry.created_at if op == "add" else utcnow(),
                               channel=channel, ledger_event_id=ledger_event_id)
    _provisional([change])
    entry.feed_change = change  # not a column: lets the caller name the ledger event it writes next (link)
    return change


def link(entry: Suppression | None, ledger_event_id: int) -> None:
    """Name the ledger event that caused ``entry``'s latest change, written after the change (flushes)."""
    change = getattr(entry, "feed_change", None)
    if change is not None and change.ledger_event_id is None:
        change.ledger_event_id = ledger_event_id
        db.session.flush()


def find(email: str, *, scope: str, account_id: str | None = None, list_id: str | None = None) -> Suppression | None:
    """The one entry of ``email`` in exactly this scope, or None."""
    key = scope_key(scope, account_id, list_id)
    return db.session.scalars(select(Suppression).where(
        Suppression.email_hash == email_hash(email), Suppression.scope_key == key)).first()


def entries_for(email: str, account_id: str, list_id: str | None = None) -> list[Suppression]:
    """Every suppression that stops mail to ``email`` from this account (global, account, list).

    With ``list_id``, only that list's entries count among the list scopes.
    """
    return entries_for_hashes([email_hash(email)], account_id, list_id).get(email_hash(email), [])


def global_entries(email: str) -> list[Suppression]:
    """The global-scope entries of ``email`` (at most one)."""
    return list(db.session.scalars(select(Suppression).where(
        Suppression.email_hash == email_hash(email), Suppression.scope == SuppressionScope.GLOBAL)))


def _visible_to(account_id: str, list_id: str | None):
    """The scopes that stop mail from ``account_id`` (to ``list_id``, when given)."""
    scopes = [Suppression.scope == SuppressionScope.GLOBAL,
              (Suppression.scope == SuppressionScope.ACCOUNT) & (Suppression.account_id == account_id)]
    if list_id is None:
        scopes.append((Suppression.scope == SuppressionScope.LIST) & (Suppression.account_id == account_id))
    else:
        scopes.append((Suppression.scope == SuppressionScope.LIST) & (Suppression.list_id == list_id))
    return or_(*scopes)


def where_in(column, values: Sequence[str]) -> Iterable:
    """Conditions ``column IN values`` in as few statements as the database allows."""
    values = list(values)
    if db.session.get_bind().dialect.name == "postgresql":
        # One array parameter: one statement whatever the count.
        yield column == any_(bindparam("values", values, type_=ARRAY(String)))
        return
    for start in range(0, len(values), SQLITE_CHUNK):
        yield column.in_(values[start:start + SQLITE_CHUNK])


def entries_for_hashes(hashes: Sequence[str], account_id: str,
                       list_id: str | None = None) -> dict[str, list[Suppression]]:
    """Entries stopping mail from ``account_id`` for each of ``hashes`` (only those with any)."""
    found: dict[str, list[Suppression]] = {}
    if not hashes:
        return found
    for condition in where_in(Suppression.email_hash, sorted(set(hashes))):
        query = select(Suppression).where(condition, _visible_to(account_id, list_id)).order_by(Suppression.id)
        for entry in db.session.scalars(query):
            found.setdefault(entry.email_hash, []).append(entry)
    for entries in found.values():
        entries.sort(key=lambda entry: entry.id)
    return found


def add_many(entries: Sequence[tuple[str, str, str | None]], *, account_id: str, source: str | None = None,
             channel: str | None = None) -> tuple[int, int]:
    """Add ``(normalised email, reason, list_id or None)`` entries for an account: (added, already).

    Set-based: one read of what exists, one insert of the new entries (an entry a concurrent
    writer added meanwhile is skipped by its unique key) and one of their feed rows.
    """
    _check_channel(channel)
    now = utcnow()
    wanted: dict[tuple[str, str], dict] = {}
    for email, reason, list_id in entries:
        scope = SuppressionScope.LIST if list_id else SuppressionScope.ACCOUNT
        key = scope_key(scope, account_id, list_id)
        hashed = email_hash(email)
        wanted.setdefault((hashed, key), dict(
            email_hash=hashed, email=email, scope=scope, scope_key=key, account_id=account_id,
            list_id=list_id, reason=reason, source=source, note=None, created_at=now))
    existing: set[tuple[str, str]] = set()
    for condition in where_in(Suppression.email_hash, sorted({hashed for hashed, _key in wanted})):
        existing.update(db.session.execute(select(Suppression.email_hash, Suppression.scope_key).where(condition)))
    added = _insert_new([row for pair, row in wanted.items() if pair not in existing])
    changes = [SuppressionChange(op="add", email_hash=row["email_hash"], email=row["email"], scope=row["scope"],
                                 account_id=account_id, list_id=row["list_id"], reason=row["reason"], source=source,
                                 at=now, channel=channel) for row in added]
    _provisional(changes)
    return len(added), len(entries) - len(added)


def _insert_new(rows: list[dict]) -> list[dict]:
    """Insert the suppressions that no one has added yet; the rows inserted."""
    if not rows:
        return []
    on_postgresql = db.session.get_bind().dialect.name == "postgresql"
    table = Suppression.__table__
    statement = ((postgresql if on_postgresql else sqlite).insert(table)
                 .on_conflict_do_nothing(index_elements=["email_hash", "scope_key"])
                 .returning(table.c.email_hash, table.c.scope_key))
    page = 1000 if on_postgresql else SQLITE_CHUNK // len(rows[0])
    inserted: set[tuple[str, str]] = set()
    for start in range(0, len(rows), page):
        inserted.update(tuple(row) for row in db.session.execute(statement, rows[start:start + page]))
    return [row for row in rows if (row["email_hash"], row["scope_key"]) in inserted]


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


def check_many(emails: Sequence[str], account_id: str) -> list[tuple[int, list[tuple]]]:
    """(position, entries as (scope, account_id, list_id, reason, created_at)) of each suppressed address.

    Answered from the suppression index (:mod:`portal.suppression.cache`: a base shared by the
    machine's workers and a delta the changes feed keeps exact): one small query per call
    whatever the number of addresses.
    """
    from portal.suppression.cache import index

    return index().check(emails, account_id)
