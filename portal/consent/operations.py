"""Writing, sealing, redacting and verifying the consent ledger.

There is deliberately no function that updates an event's content or deletes an event:
:func:`redact` (erasure) and :func:`drop_full_ips` (retention) only set personal fields to NULL.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, Iterator

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from portal.consent import actors
from portal.consent.actors import Actor
from portal.consent.models import GENESIS, PERSONAL_FIELDS, ConsentEvent, LedgerCheckpoint
from portal.db import isoformat, utcnow
from portal.extensions import db


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def commitment(salt: str, name: str, value: str) -> str:
    """Salted hash of one personal field's value."""
    return hashlib.sha256(f"{salt}\0{name}\0{value}".encode()).hexdigest()


def event_hash(event) -> str:
    """The hash of an event: its non-personal content, commitments and predecessor."""
    content = {
        "account_id": event.account_id,
        "contact_id": event.contact_id,
        "seq": event.seq,
        "type": event.type,
        "occurred_at": isoformat(event.occurred_at),
        "list_id": event.list_id,
        "source": event.source,
        "message_ref": event.message_ref,
        "consent_text_id": event.consent_text_id,
        "evidence": event.evidence or {},
        "pii_commitments": event.pii_commitments or {},
        "prev_hash": event.prev_hash,
    }
    if event.actor is not None:  # events from before actors were kept hash as they did
        content["actor"] = event.actor
        content["actor_key_id"] = event.actor_key_id
    return hashlib.sha256(_canonical(content)).hexdigest()


def ip_prefix(ip: str | None) -> str | None:
    """The network of ``ip`` (/24 for IPv4, /48 for IPv6), or None when it is not an IP."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    bits = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def record(type: str, *, contact, source: str, list_id: str | None = None,
           ip: str | None = None, user_agent: str | None = None, page_url: str | None = None,
           message_ref: str | None = None, consent_text_id: int | None = None,
           evidence: dict[str, Any] | None = None, occurred_at: datetime | None = None,
           actor: Actor | None = None) -> ConsentEvent:
    """Append one event to ``contact``'s chain (flushes, never commits).

    :param contact: a flushed :class:`~portal.subscriptions.models.Contact`.
    :param actor: who acted; by default :func:`portal.consent.actors.current`.
    :param evidence: non-personal facts only (ids, versions, reasons); personal data goes in
        the named arguments so that erasure can find it.
    """
    personal = _personal(contact.email, ip, user_agent, page_url)
    salt, commitments = _commit(personal)
    actor = actor or actors.current()
    # Appends to one chain take turns on the contact's row (PostgreSQL; SQLite has one writer).
    # Other contacts' chains are untouched: there is no global lock.
    contacts = contact.__table__
    db.session.execute(select(contacts.c.id).where(contacts.c.id == contact.id).with_for_update())
    for attempt in range(5):
        head = db.session.execute(
            select(ConsentEvent.seq, ConsentEvent.hash)
            .where(ConsentEvent.contact_id == contact.id)
            .order_by(ConsentEvent.seq.desc()).limit(1)
        ).first()
        event = ConsentEvent(
            account_id=contact.account_id, contact_id=contact.id,
            seq=head.seq + 1 if head else 1, prev_hash=head.hash if head else GENESIS,
            type=type, occurred_at=occurred_at or utcnow(), list_id=list_id, source=source,
            message_ref=_clip(message_ref, 500), consent_text_id=consent_text_id,
            evidence=evidence or {}, actor=actor.kind, actor_key_id=actor.key_id,
            pii_salt=salt if commitments else None, pii_commitments=commitments, **personal,
        )
        event.hash = event_hash(event)
        try:
            with db.session.begin_nested():
                db.session.add(event)
            return event
        except IntegrityError:
            # Another transaction appended to this chain first: read the new head, retry.
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _clip(value: str | None, length: int) -> str | None:
    return value[:length] if value else None


def _personal(email: str | None, ip: str | None, user_agent: str | None,
              page_url: str | None) -> dict[str, str | None]:
    return {"email": email, "ip": _clip(ip, 45), "ip_prefix": ip_prefix(ip),
            "user_agent": _clip(user_agent, 1000), "page_url": _clip(page_url, 2000)}


def _commit(personal: dict[str, str | None]) -> tuple[str, dict[str, str]]:
    salt = secrets.token_hex(16)
    return salt, {name: commitment(salt, name, value) for name, value in personal.items() if value}


@dataclass
class NewEvent:
    """One event for :func:`record_many`: the contact by its columns, the rest as for :func:`record`."""

    type: str
    contact_id: int
    account_id: str
    email: str | None
    source: str
    list_id: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    #: Who acted; by default :func:`portal.consent.actors.current` when written.
    actor: Actor | None = None


def record_many(new_events: list[NewEvent]) -> int:
    """Append many events in one insert (imports); each still joins its contact's chain.

    The contacts' rows are locked in id order (as :func:`record` locks one), their chain heads
    are read in one query, and events of one contact in the batch chain on each other.
    Returns the number of events written (flushes, never commits).
    """
    if not new_events:
        return 0
    contacts = ConsentEvent.__table__.metadata.tables["contacts"]  # consent is a leaf: no import
    ids = sorted({event.contact_id for event in new_events})
    db.session.execute(select(contacts.c.id).where(contacts.c.id.in_(ids)).order_by(contacts.c.id)
                       .with_for_update())
    heads = _chain_heads(ids)
    rows = []
    default_actor = actors.current()
    for new in new_events:
        seq, prev_hash = heads.get(new.contact_id, (0, GENESIS))
        row = _event_row(new, seq + 1, prev_hash, new.actor or default_actor)
        heads[new.contact_id] = (row["seq"], row["hash"])
        rows.append(row)
    db.session.execute(ConsentEvent.__table__.insert(), rows)
    return len(rows)


def _chain_heads(contact_ids: list[int]) -> dict[int, tuple[int, str]]:
    """contact id -> (seq, hash) of the last event of its chain, for those that have one."""
    last = (select(ConsentEvent.contact_id, func.max(ConsentEvent.seq).label("seq"))
            .where(ConsentEvent.contact_id.in_(contact_ids)).group_by(ConsentEvent.contact_id).subquery())
    found = db.session.execute(
        select(ConsentEvent.contact_id, ConsentEvent.seq, ConsentEvent.hash)
        .join(last, (ConsentEvent.contact_id == last.c.contact_id) & (ConsentEvent.seq == last.c.seq)))
    return {row.contact_id: (row.seq, row.hash) for row in found}


def _event_row(new: NewEvent, seq: int, prev_hash: str, actor: Actor) -> dict[str, Any]:
    personal = _personal(new.email, None, None, None)
    salt, commitments = _commit(personal)
    row = dict(account_id=new.account_id, contact_id=new.contact_id, seq=seq, prev_hash=prev_hash,
               type=new.type, occurred_at=new.occurred_at or utcnow(), list_id=new.list_id,
               source=new.source, message_ref=None, consent_text_id=None, evidence=new.evidence or {},
               actor=actor.kind, actor_key_id=actor.key_id, pii_salt=salt if commitments else None, pii_commitments=commitments,
               redacted_at=None, **personal)
    row["hash"] = event_hash(SimpleNamespace(**row))
    return row


def events_for_contact(contact_id: int) -> list[ConsentEvent]:
    """A contact's events, oldest first."""
    return list(db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.contact_id == contact_id).order_by(ConsentEvent.seq)))


def actor_of(event) -> dict[str, str | None] | None:
    """``{"type", "key_id"}`` of who acted on an event (None for events from before it was kept)."""
    return None if event.actor is None else {"type": event.actor, "key_id": event.actor_key_id}


def serialize(event: ConsentEvent) -> dict[str, Any]:
    """An event as the API answers it (SPEC section 4, ledger shape)."""
    evidence = dict(event.evidence or {})
    evidence.update({
        "page_url": event.page_url,
        "message_ref": event.message_ref,
        "consent_text_id": event.consent_text_id,
        "ip_prefix": event.ip_prefix,
        "hash": event.hash,
        "redacted": event.redacted_at is not None,
    })
    return {
        "id": event.id,
        "type": event.type,
        "occurred_at": isoformat(event.occurred_at),
        "list_id": event.list_id,
        "source": event.source,
        "actor": actor_of(event),
        "ip": event.ip,
        "user_agent": event.user_agent,
        "evidence": evidence,
    }


def redact(contact_id: int) -> int:
    """Erase every personal field of a contact's events; hashes stay verifiable. Returns rows."""
    values = {name: None for name in PERSONAL_FIELDS}
    result = db.session.execute(
        update(ConsentEvent).where(ConsentEvent.contact_id == contact_id)
        .values(pii_salt=None, redacted_at=utcnow(), **values)
        .execution_options(synchronize_session=False))
    return result.rowcount


def drop_full_ips(older_than: datetime) -> int:
    """Retention: forget the full IP of events before ``older_than``; the prefix stays."""
    result = db.session.execute(
        update(ConsentEvent)
        .where(ConsentEvent.occurred_at < older_than, ConsentEvent.ip.is_not(None))
        .values(ip=None).execution_options(synchronize_session=False))
    return result.rowcount


# --- checkpoints ------------------------------------------------------------------------

def _digest(prev_digest: str, hashes: Iterator[str]) -> tuple[str, int]:
    digest = hashlib.sha256(prev_digest.encode())
    count = 0
    for value in hashes:
        digest.update(b"\n" + value.encode())
        count += 1
    return digest.hexdigest(), count


def _hashes_between(after_id: int, last_id: int) -> Iterator[str]:
    return db.session.scalars(
        select(ConsentEvent.hash)
        .where(ConsentEvent.id > after_id, ConsentEvent.id <= last_id)
        .order_by(ConsentEvent.id).execution_options(yield_per=5000))


def seal(grace: timedelta) -> LedgerCheckpoint | None:
    """Seal every event older than ``grace`` not yet sealed; None when there is nothing new.

    Events younger than ``grace`` wait for the next seal, and so do events newer than the start
    of the oldest writing transaction still open (a long import), so that a transaction still in
    flight with a lower id cannot commit into a range already sealed.
    """
    last = db.session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.id.desc()).limit(1)).first()
    after_id = last.last_event_id if last else 0
    prev_digest = last.digest if last else GENESIS
    upto = db.session.scalar(select(func.max(ConsentEvent.id)).where(
        ConsentEvent.id > after_id, ConsentEvent.occurred_at <= _seal_cutoff(grace)))
    if upto is None:
        return None
    digest, count = _digest(prev_digest, _hashes_between(after_id, upto))
    checkpoint = LedgerCheckpoint(first_event_id=after_id + 1, last_event_id=upto,
                                  event_count=count, prev_digest=prev_digest, digest=digest)
    try:
        with db.session.begin_nested():
            db.session.add(checkpoint)
    except IntegrityError:
        return None  # another sealer got there first
    return checkpoint


def _seal_cutoff(grace: timedelta) -> datetime:
    """The newest ``occurred_at`` safe to seal (SQLite has one writer: only the grace counts)."""
    cutoff = utcnow() - grace
    if db.session.get_bind().dialect.name == "postgresql":
        oldest = db.session.scalar(text(
            "SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"))
        if oldest is not None:
            cutoff = min(cutoff, oldest - grace)
    return cutoff


# --- verification -----------------------------------------------------------------------

@dataclass
class Problem:
    """One thing found wrong: the event (or checkpoint) and what."""

    event_id: int | None
    message: str
    checkpoint_id: int | None = None

    def __str__(self) -> str:
        where = f"event {self.event_id}" if self.event_id is not None else f"checkpoint {self.checkpoint_id}"
        return f"{where}: {self.message}"


@dataclass
class Report:
    """What :func:`verify` checked and found."""

    events: int = 0
    chains: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_event(event, expected_seq: int, expected_prev: str) -> str | None:
    if event.seq != expected_seq:
        return f"chain of contact {event.contact_id} expects seq {expected_seq}, found {event.seq}"
    if event.prev_hash != expected_prev:
        return f"prev_hash does not match the hash of event seq {expected_seq - 1} of its chain"
    for name in PERSONAL_FIELDS:
        value = getattr(event, name)
        if value is None:
            continue
        expected = (event.pii_commitments or {}).get(name)
        if expected is None or event.pii_salt is None or commitment(event.pii_salt, name, value) != expected:
            return f"personal field {name!r} was changed"
    if event_hash(event) != event.hash:
        return "content does not match its hash"
    return None


def verify() -> Report:
    """Check every chain and every checkpoint; problems are sorted by event id."""
    report = Report()
    previous_contact, expected_seq, expected_prev, broken = None, 1, GENESIS, False
    # Plain rows, not ORM objects: constant memory however long the ledger.
    events = db.session.execute(
        select(*ConsentEvent.__table__.columns).order_by(ConsentEvent.contact_id, ConsentEvent.seq)
        .execution_options(yield_per=2000))
    for event in events:
        if event.contact_id != previous_contact:
            previous_contact, expected_seq, expected_prev, broken = event.contact_id, 1, GENESIS, False
            report.chains += 1
        report.events += 1
        problem = None if broken else _check_event(event, expected_seq, expected_prev)
        if problem:
            report.problems.append(Problem(event.id, problem))
            broken = True  # one problem per chain: what follows a break cannot be judged
        expected_seq, expected_prev = event.seq + 1, event.hash
    _verify_checkpoints(report)
    report.problems.sort(key=lambda p: (p.event_id is None, p.event_id or 0, p.checkpoint_id or 0))
    return report


def _verify_checkpoints(report: Report) -> None:
    prev_digest, after_id = GENESIS, 0
    for checkpoint in db.session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.id)):
        report.checkpoints += 1
        if checkpoint.prev_digest != prev_digest or checkpoint.first_event_id != after_id + 1:
            report.problems.append(Problem(None, "does not follow the previous checkpoint",
                                           checkpoint.id))
            return
        digest, count = _digest(prev_digest, _hashes_between(after_id, checkpoint.last_event_id))
        if digest != checkpoint.digest:
            report.problems.append(Problem(
                None,
                f"sealed events {checkpoint.first_event_id}..{checkpoint.last_event_id} changed "
                f"(checkpoint {checkpoint.id}: {checkpoint.event_count} sealed, {count} now)",
                checkpoint.id))
        prev_digest, after_id = checkpoint.digest, checkpoint.last_event_id
