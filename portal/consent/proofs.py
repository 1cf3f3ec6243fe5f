"""A contact's proof bundle: every event, the exact consent texts and privacy notices, the chain,
and the signed seals.

:mod:`portal.consent.verify` checks one offline, with the public keys only. Events sealed
before signing (in an unsigned checkpoint) or not yet sealed carry no ``checkpoint_seq``: the
verifier reports them as not sealed, and the next seal (minutes) fixes the latter.

A path costs one chunk of the checkpoint (:data:`~portal.consent.verify.CHUNK` events) and its
stored chunk roots, however many events the checkpoint seals.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from portal.consent.models import PERSONAL_FIELDS, ConsentEvent, LedgerCheckpoint
from portal.consent.operations import checkpoint_document, event_payload, events_for_contact, tree_entries
from portal.consent.verify import (BUNDLE_FORMAT, CHUNK, chunked_path, inclusion_paths, leaf_entry, merkle_root,
                                   notice_digest, notice_refs, sha256_hex)
from portal.db import isoformat, utcnow
from portal.extensions import db

#: Contacts per ``IN`` when reading the newest event of each (SQLite's variable limit).
_IN_CHUNK = 500


def _covering(event_id: int) -> LedgerCheckpoint | None:
    """The signed checkpoint sealing ``event_id``, if any (one indexed probe)."""
    checkpoint = db.session.scalars(select(LedgerCheckpoint).where(LedgerCheckpoint.last_event_id >= event_id)
                                    .order_by(LedgerCheckpoint.last_event_id).limit(1)).first()
    if checkpoint is None or not checkpoint.signed or checkpoint.first_event_id > event_id:
        return None
    return checkpoint


def _event(event: ConsentEvent) -> dict[str, Any]:
    return {"id": event.id, "hash": event.hash, "payload": event_payload(event),
            "personal": {name: getattr(event, name) for name in PERSONAL_FIELDS},
            "pii_salt": event.pii_salt, "redacted_at": isoformat(event.redacted_at) if event.redacted_at else None,
            "checkpoint_seq": None, "leaf_index": None, "last_in_checkpoint": None, "path": []}


def _rows(checkpoint: LedgerCheckpoint, start: int | None = None, limit: int | None = None) -> list:
    """The events a checkpoint seals, in id order (from id ``start``, at most ``limit``)."""
    query = (select(ConsentEvent.id, ConsentEvent.hash, ConsentEvent.contact_id)
             .where(ConsentEvent.id >= (start or checkpoint.first_event_id), ConsentEvent.id <= checkpoint.last_event_id)
             .order_by(ConsentEvent.id))
    return list(db.session.execute(query.limit(limit) if limit else query))


def _newest_in(checkpoint: LedgerCheckpoint, contact_ids: set[int]) -> dict[int, int]:
    """contact -> the id of its newest event that ``checkpoint`` seals."""
    newest, ids = {}, sorted(contact_ids)
    for start in range(0, len(ids), _IN_CHUNK):
        newest.update(db.session.execute(
            select(ConsentEvent.contact_id, func.max(ConsentEvent.id))
            .where(ConsentEvent.contact_id.in_(ids[start:start + _IN_CHUNK]),
                   ConsentEvent.id >= checkpoint.first_event_id, ConsentEvent.id <= checkpoint.last_event_id)
            .group_by(ConsentEvent.contact_id)).all())
    return newest


def _chunk_of(checkpoint: LedgerCheckpoint, event_id: int) -> int:
    """The number of the chunk holding ``event_id`` (by the chunks' first ids: no count, no offset)."""
    starts = [start for start, _root in checkpoint.chunks or [[checkpoint.first_event_id, None]]]
    return bisect_right(starts, event_id) - 1


def _chunk(checkpoint: LedgerCheckpoint, number: int) -> tuple[list, list[str], list[bool]]:
    """The rows of one chunk of a version 3 checkpoint, their tree entries and "last" flags."""
    start = checkpoint.chunks[number][0] if checkpoint.chunks else checkpoint.first_event_id
    rows = _rows(checkpoint, start, CHUNK)
    newest = _newest_in(checkpoint, {row.contact_id for row in rows})
    flags = [newest.get(row.contact_id) == row.id for row in rows]
    return rows, [leaf_entry(row.id, row.hash, last) for row, last in zip(rows, flags)], flags


def _seal_version3(checkpoint: LedgerCheckpoint, wanted: dict[int, dict[str, Any]]) -> None:
    """Paths of ``wanted`` (event id -> bundle item) in a version 3 checkpoint, chunk by chunk."""
    by_chunk: dict[int, list[int]] = defaultdict(list)
    for event_id in wanted:
        by_chunk[_chunk_of(checkpoint, event_id)].append(event_id)
    for number, event_ids in by_chunk.items():
        rows, entries, flags = _chunk(checkpoint, number)
        roots = [root for _start, root in checkpoint.chunks] if checkpoint.chunks else [merkle_root(entries)]
        position = {row.id: offset for offset, row in enumerate(rows)}
        for event_id in event_ids:
            offset = position[event_id]
            wanted[event_id].update(checkpoint_seq=checkpoint.seq, leaf_index=number * CHUNK + offset,
                                    last_in_checkpoint=flags[offset], path=chunked_path(offset, entries, number, roots))


def _seal_version2(checkpoint: LedgerCheckpoint, wanted: dict[int, dict[str, Any]]) -> None:
    """Paths in a checkpoint signed before version 3 (plain hashes; no chunk roots kept)."""
    rows = _rows(checkpoint)
    index_of = {row.id: index for index, row in enumerate(rows)}
    paths = inclusion_paths(tree_entries(rows, checkpoint.version), [index_of[i] for i in wanted if i in index_of])
    for event_id, item in wanted.items():
        if event_id in index_of:
            index = index_of[event_id]
            item.update(checkpoint_seq=checkpoint.seq, leaf_index=index, path=paths[index])


def _seal(items: list[dict[str, Any]], events: list[ConsentEvent]) -> list[dict[str, Any]]:
    """Attach each event's inclusion path in its signed checkpoint; the checkpoints used."""
    wanted: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    checkpoints: dict[int, LedgerCheckpoint] = {}
    for item, event in zip(items, events):
        checkpoint = _covering(event.id)
        if checkpoint is not None:
            checkpoints[checkpoint.seq] = checkpoint
            wanted[checkpoint.seq][event.id] = item
    for seq, items_of in wanted.items():
        checkpoint = checkpoints[seq]
        (_seal_version3 if (checkpoint.version or 2) >= 3 else _seal_version2)(checkpoint, items_of)
    return [checkpoint_document(checkpoints[seq]) for seq in sorted(checkpoints)]


def _consent_texts(events: list[ConsentEvent]) -> list[dict[str, Any]]:
    texts = ConsentEvent.__table__.metadata.tables["consent_texts"]  # consent is a leaf: no import
    ids = sorted({event.consent_text_id for event in events if event.consent_text_id})
    if not ids:
        return []
    rows = db.session.execute(select(texts.c.id, texts.c.version, texts.c.locale, texts.c.text)
                              .where(texts.c.id.in_(ids)))
    return [{"id": row.id, "version": row.version, "locale": row.locale, "text": row.text,
             "sha256": sha256_hex(row.text.encode())} for row in rows]


def _privacy_notices(events: list[ConsentEvent]) -> list[dict[str, Any]]:
    """The privacy notice versions the events record, as shown (with their SHA-256)."""
    from portal.consent.notices import notice_document, notices_by_id

    ids = {ref.get("id") for event in events for ref in notice_refs(event.evidence or {})}
    documents = [notice_document(notice) for notice in notices_by_id(ids - {None})]
    return [{**document, "sha256": notice_digest(document)} for document in documents]


def bundle(contact) -> dict[str, Any]:
    """The proof bundle of ``contact`` (erased contacts' with their personal fields redacted)."""
    events = events_for_contact(contact.id)
    items = [_event(event) for event in events]
    checkpoints = _seal(items, events)
    return {"format": BUNDLE_FORMAT, "generated_at": isoformat(utcnow()), "account_id": contact.account_id,
            "contact_id": contact.id, "email": contact.email, "events": items,
            "consent_texts": _consent_texts(events), "privacy_notices": _privacy_notices(events),
            "checkpoints": checkpoints, "keys_url": "/.well-known/consent-ledger-keys"}
