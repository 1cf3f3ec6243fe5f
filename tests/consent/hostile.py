"""What a hostile database administrator does: plain SQL, guards set aside, hashes recomputed.

The intruder knows the code (so can recompute every unkeyed hash) but holds neither the HMAC
key nor the signing key, which live outside the database.
"""
from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

from sqlalchemy import text

from portal.consent.operations import event_hash
from portal.consent.verify import GENESIS

SQLITE_TRIGGERS = ("consent_events_no_update", "consent_events_no_delete", "consent_events_redaction_only",
                   "ledger_checkpoints_no_update", "ledger_checkpoints_no_delete")


@contextmanager
def as_dba(db, backend):
    """A connection on which no guard trigger fires (a superuser, or one who drops them)."""
    db.session.rollback()  # the test's own session lets go of its locks, as the portal's would
    with db.engine.begin() as conn:
        if backend == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for name in SQLITE_TRIGGERS:
                conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        yield conn


def chain(conn, contact_id):
    """A contact's events as the intruder reads them, oldest first."""
    from sqlalchemy import select

    from portal.consent.models import ConsentEvent

    table = ConsentEvent.__table__
    result = conn.execute(select(table).where(table.c.contact_id == contact_id).order_by(table.c.seq))
    return [SimpleNamespace(**row) for row in result.mappings()]


def rewrite_chain_from(conn, contact_id, seq, **changes):
    """Change event ``seq`` of a chain and recompute its hash and every later one, as an intruder can."""
    events = chain(conn, contact_id)
    prev = GENESIS
    for event in events:
        if event.seq == seq:
            for name, value in changes.items():
                setattr(event, name, value)
        if event.seq >= seq:
            event.prev_hash = prev
            event.hash = event_hash(event)
            conn.execute(text("UPDATE consent_events SET type = :type, source = :source, prev_hash = :prev, "
                              "hash = :hash WHERE id = :id"),
                         {"type": event.type, "source": event.source, "prev": event.prev_hash,
                          "hash": event.hash, "id": event.id})
        prev = event.hash
    return events


def insert_event(conn, backend, *, after, type, mac=None):
    """A plain INSERT of an event chained after ``after`` (a row), its unkeyed hash correct."""
    from portal.db import utcnow

    event = SimpleNamespace(
        account_id=after.account_id, contact_id=after.contact_id, seq=after.seq + 1, type=type,
        occurred_at=utcnow(), list_id=after.list_id, source=after.source, message_ref=None,
        consent_text_id=after.consent_text_id, evidence={}, pii_commitments={}, prev_hash=after.hash)
    event.hash = event_hash(event)
    jsonb = "CAST(:evidence AS jsonb)" if backend == "postgresql" else ":evidence"
    commitments = jsonb.replace(":evidence", ":commitments")
    conn.execute(text(
        "INSERT INTO consent_events (account_id, contact_id, seq, type, occurred_at, list_id, source, "
        "consent_text_id, evidence, pii_commitments, prev_hash, hash, mac) VALUES (:account_id, "
        f":contact_id, :seq, :type, :occurred_at, :list_id, :source, :consent_text_id, {jsonb}, "
        f"{commitments}, :prev_hash, :hash, :mac)"),
        {name: getattr(event, name) for name in ("account_id", "contact_id", "seq", "type", "occurred_at",
                                                 "list_id", "source", "consent_text_id", "prev_hash", "hash")}
        | {"evidence": "{}", "commitments": "{}", "mac": mac})
    return event
