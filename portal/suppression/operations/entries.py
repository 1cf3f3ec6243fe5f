"""Adding, removing and finding suppressions; every change goes to the changes feed (:mod:`.feed`)."""
from __future__ import annotations

from typing import Iterable, Sequence

from sqlalchemy import ARRAY, String, any_, bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from portal.addresses import email_hash
from portal.db import utcnow
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.suppression.models import (Suppression, SuppressionChange, SuppressionChannel, SuppressionReason,
                                       SuppressionScope, scope_key)
from portal.suppression.operations import feed
from portal.webhooks import operations as webhooks

#: Bound parameters per ``IN`` on SQLite (its variable limit may be as low as 999).
SQLITE_CHUNK = 900


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
    feed.append("add", entry, note=note, source=source, channel=channel, ledger_event_id=ledger_event_id)
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
    feed.append("remove", entry, note=note, source=source, channel=channel, ledger_event_id=ledger_event_id)
    db.session.delete(entry)
    db.session.flush()
    return True


def _check_channel(channel: str | None) -> None:
    if channel is not None and channel not in SuppressionChannel.ALL:
        raise ValidationFailed(f"unknown channel {channel!r}")


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
    feed.provisional(changes)
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


def check_many(emails: Sequence[str], account_id: str) -> list[tuple[int, list[tuple]]]:
    """(position, entries as (scope, account_id, list_id, reason, created_at)) of each suppressed address.

    Answered from the suppression index (:mod:`portal.suppression.cache`: a base shared by the
    machine's workers and a delta the changes feed keeps exact): one small query per call
    whatever the number of addresses.
    """
    from portal.suppression.cache import index

    return index().check(emails, account_id)
