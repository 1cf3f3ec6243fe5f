"""A contact's proof bundle: every event, the exact consent texts, the chain, the signed seals.

:mod:`portal.consent.verify` checks one offline, with the public keys only. Events sealed
before signing (in an unsigned checkpoint) or not yet sealed carry no ``checkpoint_seq``: the
verifier reports them as not sealed, and the next seal (minutes) fixes the latter.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from portal.consent.models import PERSONAL_FIELDS, ConsentEvent, LedgerCheckpoint
from portal.consent.operations import checkpoint_document, event_payload, events_for_contact
from portal.consent.verify import BUNDLE_FORMAT, inclusion_paths, sha256_hex
from portal.db import isoformat, utcnow
from portal.extensions import db


def _covering(event_id: int) -> LedgerCheckpoint | None:
    return db.session.scalars(select(LedgerCheckpoint).where(
        LedgerCheckpoint.signature.is_not(None), LedgerCheckpoint.first_event_id <= event_id,
        LedgerCheckpoint.last_event_id >= event_id)).first()


def _sealed_ids(checkpoint: LedgerCheckpoint) -> list[tuple[int, str]]:
    return list(db.session.execute(
        select(ConsentEvent.id, ConsentEvent.hash)
        .where(ConsentEvent.id >= checkpoint.first_event_id, ConsentEvent.id <= checkpoint.last_event_id)
        .order_by(ConsentEvent.id)))


def _event(event: ConsentEvent) -> dict[str, Any]:
    return {"id": event.id, "hash": event.hash, "payload": event_payload(event),
            "personal": {name: getattr(event, name) for name in PERSONAL_FIELDS},
            "pii_salt": event.pii_salt, "redacted_at": isoformat(event.redacted_at) if event.redacted_at else None,
            "checkpoint_seq": None, "leaf_index": None, "path": []}


def _seal(items: list[dict[str, Any]], events: list[ConsentEvent]) -> list[dict[str, Any]]:
    """Attach each event's inclusion path in its signed checkpoint; the checkpoints used."""
    by_checkpoint: dict[int, list[int]] = defaultdict(list)
    checkpoints: dict[int, LedgerCheckpoint] = {}
    for position, event in enumerate(events):
        checkpoint = _covering(event.id)
        if checkpoint is not None:
            checkpoints[checkpoint.seq] = checkpoint
            by_checkpoint[checkpoint.seq].append(position)
    for seq, positions in by_checkpoint.items():
        sealed = _sealed_ids(checkpoints[seq])
        index_of = {event_id: index for index, (event_id, _hash) in enumerate(sealed)}
        wanted = {index_of[events[p].id]: p for p in positions if events[p].id in index_of}
        paths = inclusion_paths([h for _id, h in sealed], wanted)
        for index, position in wanted.items():
            items[position].update(checkpoint_seq=seq, leaf_index=index, path=paths[index])
    return [checkpoint_document(checkpoints[seq]) for seq in sorted(checkpoints)]


def _consent_texts(events: list[ConsentEvent]) -> list[dict[str, Any]]:
    texts = ConsentEvent.__table__.metadata.tables["consent_texts"]  # consent is a leaf: no import
    ids = sorted({event.consent_text_id for event in events if event.consent_text_id})
    if not ids:
        return []
    rows = db.session.execute(select(texts.c.id, texts.c.version, texts.c.text).where(texts.c.id.in_(ids)))
    return [{"id": row.id, "version": row.version, "text": row.text, "sha256": sha256_hex(row.text.encode())}
            for row in rows]


def bundle(contact) -> dict[str, Any]:
    """The proof bundle of ``contact`` (erased contacts' with their personal fields redacted)."""
    events = events_for_contact(contact.id)
    items = [_event(event) for event in events]
    checkpoints = _seal(items, events)
    return {"format": BUNDLE_FORMAT, "generated_at": isoformat(utcnow()), "account_id": contact.account_id,
            "contact_id": contact.id, "email": contact.email, "events": items,
            "consent_texts": _consent_texts(events), "checkpoints": checkpoints,
            "keys_url": "/.well-known/consent-ledger-keys"}
