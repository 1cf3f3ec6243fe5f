"""Writing, sealing, redacting and verifying the consent ledger.

There is deliberately no function that updates an event's content or deletes an event:
:func:`redact` (erasure) and :func:`drop_full_ips` (retention) only set personal fields to NULL.
"""
from __future__ import annotations

import hashlib
import ipaddress
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, Iterator

import orjson

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from portal.consent import actors, keys, notices
from portal.consent.actors import Actor
from portal.consent.models import GENESIS, PERSONAL_FIELDS, ConsentEvent, LedgerCheckpoint
from portal.consent.verify import (CHUNK, checkpoint_digest, checkpoint_problem, chunk_roots, commitment, leaf_entry,
                                  notice_refs, payload_hash, root_of_chunks, sha256_hex)
from portal.db import isoformat, utcnow
from portal.extensions import db

def event_payload(event) -> dict[str, Any]:
    """What an event's hash covers: its non-personal content, commitments and predecessor."""
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
    if getattr(event, "actor", None) is not None:  # events from before actors hash as they did
        content["actor"] = event.actor
        content["actor_key_id"] = event.actor_key_id
    return content


def event_hash(event) -> str:
    """The hash of an event: SHA-256 of its canonical :func:`event_payload`.

    Its ``mac`` (:func:`portal.consent.keys.event_mac`) keys this hash, so whatever the payload
    holds is covered by both; anyone can recompute the hash, only the key holder the mac.
    """
    return payload_hash(event_payload(event))


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
           actor: Actor | None = None, email: str | None = None) -> ConsentEvent:
    """Append one event to ``contact``'s chain (flushes, never commits).

    :param contact: a flushed :class:`~portal.subscriptions.models.Contact`.
    :param actor: who acted; by default :func:`portal.consent.actors.current`.
    :param evidence: non-personal facts only (ids, versions, reasons); personal data goes in
        the named arguments so that erasure can find it.
    :param email: the address as the person typed it (signup), when it differs from the contact's.
    """
    personal = _personal(_clip(email, 320) or contact.email, ip, user_agent, page_url)
    salt, commitments = _commit(personal)
    actor = actor or actors.current()
    occurred_at = occurred_at or utcnow()
    evidence = _with_references(evidence, consent_text_id, notices.in_force(contact.account_id, occurred_at))
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
            type=type, occurred_at=occurred_at, list_id=list_id, source=source,
            message_ref=_clip(message_ref, 500), consent_text_id=consent_text_id,
            evidence=evidence or {}, actor=actor.kind, actor_key_id=actor.key_id,
            pii_salt=salt if commitments else None, pii_commitments=commitments, **personal,
        )
        event.hash = event_hash(event)
        event.mac = keys.event_mac(event.hash)
        try:
            with db.session.begin_nested():
                db.session.add(event)
            return event
        except IntegrityError:
            # Another transaction appended to this chain first: read the new head, retry.
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _with_references(evidence: dict[str, Any] | None, consent_text_id: int | None,
                     notice: dict[str, Any] | None) -> dict[str, Any]:
    """Bind to the event what the person was shown: the exact consent text (its version and
    SHA-256) and the privacy notice in force (its id, version and SHA-256). Proof bundles carry both."""
    evidence = dict(evidence or {})
    if consent_text_id is not None:
        texts = ConsentEvent.__table__.metadata.tables["consent_texts"]  # consent is a leaf: no import
        row = db.session.execute(select(texts.c.version, texts.c.text).where(texts.c.id == consent_text_id)).first()
        if row is not None:
            evidence.setdefault("consent_text_version", row.version)
            evidence["consent_text_sha256"] = hashlib.sha256(row.text.encode()).hexdigest()
    if notice is not None:
        evidence.setdefault("privacy_notice", notice)
    return evidence


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

    Returns the number of events written (flushes, never commits).
    """
    rows = chain_many(new_events)
    if rows:
        db.session.execute(ConsentEvent.__table__.insert(), rows)
    return len(rows)


def chain_many(new_events: list[NewEvent]) -> list[dict[str, Any]]:
    """The rows of ``new_events``, chained, hashed and keyed, for the caller to insert (COPY).

    The contacts' rows are locked in id order (as :func:`record` locks one), their chain heads
    are read in one query, and events of one contact in the batch chain on each other. The
    caller must insert the rows in this transaction, in this order.
    """
    if not new_events:
        return []
    contacts = ConsentEvent.__table__.metadata.tables["contacts"]  # consent is a leaf: no import
    ids = sorted({event.contact_id for event in new_events})
    db.session.execute(select(contacts.c.id).where(contacts.c.id.in_(ids)).order_by(contacts.c.id)
                       .with_for_update())
    heads = _chain_heads(ids)
    rows, make = [], RowMaker()
    for new in new_events:
        seq, prev_hash = heads.get(new.contact_id, (0, GENESIS))
        row = make(new, seq + 1, prev_hash)
        heads[new.contact_id] = (row["seq"], row["hash"])
        rows.append(row)
    return rows


def _chain_heads(contact_ids: list[int]) -> dict[int, tuple[int, str]]:
    """contact id -> (seq, hash) of the last event of its chain, for those that have one."""
    last = (select(ConsentEvent.contact_id, func.max(ConsentEvent.seq).label("seq"))
            .where(ConsentEvent.contact_id.in_(contact_ids)).group_by(ConsentEvent.contact_id).subquery())
    found = db.session.execute(
        select(ConsentEvent.contact_id, ConsentEvent.seq, ConsentEvent.hash)
        .join(last, (ConsentEvent.contact_id == last.c.contact_id) & (ConsentEvent.seq == last.c.seq)))
    return {row.contact_id: (row.seq, row.hash) for row in found}


class RowMaker:
    """Builds the rows of a batch of events: what is the same for all of them is read once (the
    actor of the moment, the notice in force per account, the HMAC key), and each hash is
    computed by :func:`fast_payload_hash`. Rows are as :func:`record` would write them."""

    def __init__(self, actor: Actor | None = None):
        self.actor = actor or actors.current()
        self.mac = keys.event_mac_function()
        self._notices: dict[str, dict[str, Any] | None] = {}

    def notice(self, account_id: str) -> dict[str, Any] | None:
        """The notice in force as the batch is written (an import's events are now)."""
        if account_id not in self._notices:
            self._notices[account_id] = notices.in_force_now(account_id)
        return self._notices[account_id]

    def __call__(self, new: NewEvent, seq: int, prev_hash: str) -> dict[str, Any]:
        """The row of ``new`` as event ``seq`` of its contact's chain, after ``prev_hash``."""
        personal = _personal(new.email, None, None, None)
        salt, commitments = _commit(personal)
        actor = new.actor or self.actor
        row = dict(account_id=new.account_id, contact_id=new.contact_id, seq=seq, prev_hash=prev_hash,
                   type=new.type, occurred_at=new.occurred_at or utcnow(), list_id=new.list_id,
                   source=new.source, message_ref=None, consent_text_id=None,
                   evidence=_with_references(new.evidence, None, self.notice(new.account_id)),
                   actor=actor.kind, actor_key_id=actor.key_id, pii_salt=salt if commitments else None,
                   pii_commitments=commitments, redacted_at=None, **personal)
        row["hash"] = fast_payload_hash(event_payload(SimpleNamespace(**row)))
        row["mac"] = self.mac(row["hash"])
        return row


def fast_payload_hash(payload: dict[str, Any]) -> str:
    """:func:`~portal.consent.verify.payload_hash`, the same hex digest, encoded by orjson when
    the bytes are sure to be those of the verifier's :func:`~portal.consent.verify.canonical`:
    only strings, integers, booleans, None, lists and dicts with string keys, and an encoding that
    is plain ASCII without DEL (which ``json.dumps`` escapes and orjson does not). Anything else
    (a float, a non-ASCII character, a type orjson knows and ``json`` does not) takes the
    verifier's own path."""
    if _plain(payload):
        try:
            data = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
        except TypeError:  # an integer beyond 64 bits, a key that is not a string, a lone surrogate
            data = b"\x80"
        if data.isascii() and b"\x7f" not in data:
            return sha256_hex(data)
    return payload_hash(payload)


_PLAIN_LEAVES = frozenset((str, int, bool, type(None)))
_CONTAINERS = frozenset((dict, list, tuple))


def _plain(value: Any) -> bool:
    """Whether ``value`` holds only what ``json`` and orjson encode alike (see :func:`fast_payload_hash`)."""
    if type(value) not in _CONTAINERS:
        return type(value) in _PLAIN_LEAVES
    stack = [value]
    while stack:
        item = stack.pop()
        pairs = item.items() if type(item) is dict else ((None, element) for element in item)
        for key, element in pairs:
            if key is not None and type(key) is not str:
                return False
            kind = type(element)
            if kind in _CONTAINERS:
                stack.append(element)
            elif kind not in _PLAIN_LEAVES:
                return False
    return True


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

class LedgerTampered(Exception):
    """Seal refused: events in the range to seal were not written with the ledger key."""

    def __init__(self, event_ids: list[int], message: str):
        super().__init__(f"event {event_ids[0]}: {message}"
                         + (f" (and {len(event_ids) - 1} more)" if len(event_ids) > 1 else ""))
        self.event_ids = event_ids


def _legacy_digest(prev_digest: str, hashes: Iterator[str]) -> tuple[str, int]:
    """The digest of a checkpoint sealed before signing: SHA-256 over the hashes in id order."""
    digest = hashlib.sha256(prev_digest.encode())
    count = 0
    for value in hashes:
        digest.update(b"\n" + value.encode())
        count += 1
    return digest.hexdigest(), count


def _events_between(after_id: int, last_id: int, limit: int | None = None):
    query = (select(ConsentEvent.id, ConsentEvent.hash, ConsentEvent.mac, ConsentEvent.contact_id)
             .where(ConsentEvent.id > after_id, ConsentEvent.id <= last_id).order_by(ConsentEvent.id))
    if limit is not None:
        query = query.limit(limit)
    return db.session.execute(query.execution_options(yield_per=5000))


def _hashes_between(after_id: int, last_id: int) -> Iterator[str]:
    return (row.hash for row in _events_between(after_id, last_id))


def last_flags(contact_ids: list[int]) -> list[bool]:
    """For events in id order: whether each is the newest of its contact's among them."""
    flags, newest = [True] * len(contact_ids), {}
    for position, contact_id in enumerate(contact_ids):
        if contact_id in newest:
            flags[newest[contact_id]] = False
        newest[contact_id] = position
    return flags


def tree_entries(rows, version: int | None) -> list[str]:
    """The Merkle tree entries of a checkpoint's events (rows with id, hash, contact_id in id order)."""
    if (version or 2) < 3:
        return [row.hash for row in rows]
    flags = last_flags([row.contact_id for row in rows])
    return [leaf_entry(row.id, row.hash, last) for row, last in zip(rows, flags)]


def newest_checkpoint() -> LedgerCheckpoint | None:
    """The last checkpoint of the chain."""
    return db.session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.seq.desc()).limit(1)).first()


def legacy_boundary() -> int | None:
    """``--adopt-legacy``: the newest event without a keyed hash, which the first signed
    checkpoints may vouch for; None once a signed checkpoint exists (adoption happens once)."""
    if db.session.scalar(select(LedgerCheckpoint.id).where(LedgerCheckpoint.signature.is_not(None))) is not None:
        return None
    return db.session.scalar(select(func.max(ConsentEvent.id)).where(ConsentEvent.mac.is_(None)))


def _keyed_rows(after_id: int, upto: int, limit: int, legacy_upto: int | None) -> list:
    """The events to seal (at most ``limit``, in id order), refusing any the key did not write."""
    rows = list(_events_between(after_id, upto, limit))
    forged = [row.id for row in rows if row.mac is not None and not keys.mac_matches(row.hash, row.mac)]
    unkeyed = [row.id for row in rows if row.mac is None and (legacy_upto is None or row.id > legacy_upto)]
    if forged:
        raise LedgerTampered(forged, "its keyed hash does not match: written without the ledger key")
    if unkeyed:
        raise LedgerTampered(unkeyed, "has no keyed hash (written before keyed hashes, or forged); "
                                      "after an upgrade, seal once with --adopt-legacy")
    return rows


#: The version of the checkpoints :func:`seal` makes (see :func:`portal.consent.verify.leaf_entry`).
CHECKPOINT_VERSION = 3


def seal(grace: timedelta, *, legacy_upto: int | None = None, max_events: int = 65536) -> LedgerCheckpoint | None:
    """Seal, in a signed checkpoint, the oldest events older than ``grace`` not yet sealed.

    At most ``max_events`` (``PORTAL_LEDGER_CHECKPOINT_MAX_EVENTS``): call it again until it
    returns None. Events younger than ``grace`` wait for the next seal, and so do events newer
    than the start of the oldest writing transaction still open (a long import), so that a
    transaction still in flight with a lower id cannot commit into a range already sealed.
    Raises :class:`LedgerTampered` (and seals nothing) when an event in the range lacks a valid
    keyed hash, but those up to ``legacy_upto`` (:func:`legacy_boundary`, once after upgrading).
    Flushes; the caller commits, then calls :func:`portal.consent.anchors.publish`.
    """
    last = newest_checkpoint()
    after_id = last.last_event_id if last else 0
    cap = db.session.scalar(select(func.max(ConsentEvent.id)).where(
        ConsentEvent.id > after_id, ConsentEvent.occurred_at <= _seal_cutoff(grace)))
    if cap is None:
        return None
    rows = _keyed_rows(after_id, cap, max_events, legacy_upto)
    roots = chunk_roots(tree_entries(rows, CHECKPOINT_VERSION))
    starts = [row.id for row in rows[::CHUNK]]
    checkpoint = LedgerCheckpoint(seq=(last.seq if last else 0) + 1, first_event_id=after_id + 1,
                                  last_event_id=rows[-1].id, event_count=len(rows), events_root=root_of_chunks(roots),
                                  prev_digest=last.digest if last else GENESIS, version=CHECKPOINT_VERSION,
                                  chunks=[list(pair) for pair in zip(starts, roots)] if len(roots) > 1 else None,
                                  created_at=utcnow(), key_id=keys.ledger_keys().signing_id)
    key_id, checkpoint.signature = keys.sign(_canonical_body(checkpoint))
    checkpoint.digest = checkpoint_digest(checkpoint_document(checkpoint))
    try:
        with db.session.begin_nested():
            db.session.add(checkpoint)
    except IntegrityError:
        return None  # another sealer got there first
    return checkpoint


def checkpoint_document(checkpoint: LedgerCheckpoint) -> dict[str, Any]:
    """A signed checkpoint as JSON: its signed fields, digest and signature (anchors, API, bundles)."""
    return {"version": checkpoint.version or 2, "seq": checkpoint.seq, "prev_digest": checkpoint.prev_digest,
            "first_event_id": checkpoint.first_event_id, "last_event_id": checkpoint.last_event_id,
            "event_count": checkpoint.event_count, "events_root": checkpoint.events_root,
            "created_at": isoformat(checkpoint.created_at), "key_id": checkpoint.key_id,
            "digest": checkpoint.digest, "signature": checkpoint.signature}


def _canonical_body(checkpoint: LedgerCheckpoint) -> bytes:
    from portal.consent.verify import canonical, checkpoint_body

    return canonical(checkpoint_body(checkpoint_document(checkpoint)))


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
    """One thing found wrong: the event (or checkpoint, by its seq) and what."""

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
    anchors: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _personal_problem(event) -> str | None:
    commitments = event.pii_commitments or {}
    for name in PERSONAL_FIELDS:
        value = getattr(event, name)
        if value is None:
            # Retention forgets the full IP but keeps its prefix; anything else needs a redaction.
            retained = name == "ip" and event.ip_prefix is not None
            if name in commitments and event.redacted_at is None and not retained:
                return f"personal field {name!r} was removed without a redaction"
            continue
        expected = commitments.get(name)
        if expected is None or event.pii_salt is None or commitment(event.pii_salt, name, value) != expected:
            return f"personal field {name!r} was changed"
    return None


def _check_event(event, expected_seq: int, expected_prev: str, signed_upto: int) -> str | None:
    if event.seq != expected_seq:
        return f"chain of contact {event.contact_id} expects seq {expected_seq}, found {event.seq}"
    if event.prev_hash != expected_prev:
        return f"prev_hash does not match the hash of event seq {expected_seq - 1} of its chain"
    problem = _personal_problem(event)
    if problem:
        return problem
    if event_hash(event) != event.hash:
        return "content does not match its hash"
    if event.mac is None:
        if event.id > signed_upto:
            return "has no keyed hash and no signed checkpoint vouches for it (inserted without the ledger key)"
    elif not keys.mac_matches(event.hash, event.mac):
        return "its keyed hash does not match: written or rewritten without the ledger key"
    return None


def _notice_problem(event, stored: dict[int, tuple[int, str]]) -> str | None:
    """The privacy notice versions an event records must be the stored ones, unchanged."""
    for ref in notice_refs(event.evidence or {}):
        if stored.get(ref.get("id")) != (ref.get("version"), ref.get("sha256")):
            return (f"the privacy notice version {ref.get('version')} it records is missing from privacy_notices "
                    "or was changed")
    return None


class _Chain:
    """The state of one contact's chain while :func:`verify` walks it."""

    def __init__(self, contact_id: int | None):
        self.contact_id, self.seq, self.prev, self.broken = contact_id, 1, GENESIS, False


def verify(anchor_files: list[str] | None = None) -> Report:
    """Check every chain, every checkpoint, and the checkpoints against anchor copies.

    :param anchor_files: JSON-lines copies of the signed checkpoints kept outside the database;
        default: the local anchor log, when there is one. Problems are sorted by event id.
    """
    from portal.consent import anchors

    report = Report()
    signed_upto = db.session.scalar(select(func.max(LedgerCheckpoint.last_event_id))
                                    .where(LedgerCheckpoint.signature.is_not(None))) or 0
    chain = _Chain(None)
    stored = notices.stored_digests()
    # Plain rows, not ORM objects: constant memory however long the ledger.
    events = db.session.execute(
        select(*ConsentEvent.__table__.columns).order_by(ConsentEvent.contact_id, ConsentEvent.seq)
        .execution_options(yield_per=2000))
    for event in events:
        if event.contact_id != chain.contact_id:
            chain = _Chain(event.contact_id)
            report.chains += 1
        report.events += 1
        problem = None if chain.broken else (_check_event(event, chain.seq, chain.prev, signed_upto)
                                             or _notice_problem(event, stored))
        if problem:
            report.problems.append(Problem(event.id, problem))
            chain.broken = True  # one problem per chain: what follows a break cannot be judged
        chain.seq, chain.prev = event.seq + 1, event.hash
    _verify_checkpoints(report)
    anchors.compare(report, anchor_files)
    report.problems.sort(key=lambda p: (p.event_id is None, p.event_id or 0, p.checkpoint_id or 0))
    return report


def _checkpoint_problem(checkpoint: LedgerCheckpoint, signed_before: bool) -> str | None:
    after_id = checkpoint.first_event_id - 1
    if not checkpoint.signed:
        if signed_before:
            return "is not signed, yet follows signed checkpoints"
        digest, count = _legacy_digest(checkpoint.prev_digest, _hashes_between(after_id, checkpoint.last_event_id))
        if digest != checkpoint.digest:
            return (f"sealed events {checkpoint.first_event_id}..{checkpoint.last_event_id} changed "
                    f"({checkpoint.event_count} sealed, {count} now)")
        return None
    problem = checkpoint_problem(checkpoint_document(checkpoint), keys.ledger_keys().public)
    if problem:
        return problem
    rows = list(_events_between(after_id, checkpoint.last_event_id))
    roots = chunk_roots(tree_entries(rows, checkpoint.version))
    if len(rows) != checkpoint.event_count or root_of_chunks(roots) != checkpoint.events_root:
        return (f"sealed events {checkpoint.first_event_id}..{checkpoint.last_event_id} changed "
                f"({checkpoint.event_count} sealed, {len(rows)} now)")
    if checkpoint.chunks is not None and checkpoint.chunks != [[row.id, root] for row, root in zip(rows[::CHUNK], roots)]:
        return "its stored chunk roots differ from its events' (proof paths from it would not verify)"
    return None


def _verify_checkpoints(report: Report) -> None:
    prev_digest, after_id, seq, signed_before = GENESIS, 0, 0, False
    for checkpoint in db.session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.seq)):
        report.checkpoints += 1
        if (checkpoint.prev_digest != prev_digest or checkpoint.first_event_id != after_id + 1
                or checkpoint.seq != seq + 1):
            report.problems.append(Problem(None, "does not follow the previous checkpoint", checkpoint.seq))
            return
        problem = _checkpoint_problem(checkpoint, signed_before)
        if problem:
            report.problems.append(Problem(None, problem, checkpoint.seq))
        prev_digest, after_id, seq = checkpoint.digest, checkpoint.last_event_id, checkpoint.seq
        signed_before = signed_before or checkpoint.signed
