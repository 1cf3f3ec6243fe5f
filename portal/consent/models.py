"""Ledger events, chained per contact, and the checkpoints that seal them in order."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import BigIntKey, JSONType, UTCDateTime, utcnow
from portal.extensions import db

#: Columns holding personal data: redactable (set to NULL), each committed to by a salted hash.
PERSONAL_FIELDS = ("email", "ip", "ip_prefix", "user_agent", "page_url")

#: ``prev_hash`` of the first event of every chain, and of the first checkpoint.
GENESIS = "0" * 64


class EventType:
    """Ledger event types (SPEC section 2); more may be added, none renamed."""

    SIGNUP_REQUESTED = "signup_requested"
    CONFIRMATION_SENT = "confirmation_sent"
    #: A confirmation mail not sent, and why (the account is suspended or deactivated).
    CONFIRMATION_WITHHELD = "confirmation_withheld"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    UNSUBSCRIBED = "unsubscribed"
    RESUBSCRIBED = "resubscribed"
    COMPLAINED = "complained"
    BOUNCED = "bounced"
    IMPORTED = "imported"
    SUPPRESSED = "suppressed"
    UNSUPPRESSED = "unsuppressed"
    ERASED = "erased"
    PURGED = "purged"
    #: A new privacy notice version's mail left (its id, version, SHA-256 in ``notice_sent``).
    PRIVACY_NOTICE_SENT = "privacy_notice_sent"


class ConsentEvent(db.Model):
    """One consent event with its evidence. Rows are inserted, never changed but by redaction.

    Each contact's events form a hash chain (``seq``, ``prev_hash``, ``hash``), so there is no
    global lock on the hot path; checkpoints then seal all events in id order. The hash covers
    salted commitments to the personal fields rather than the fields themselves, so erasing
    them (redaction) leaves every hash verifiable.
    """

    __tablename__ = "consent_events"
    __table_args__ = (UniqueConstraint("contact_id", "seq"),
                      # Keyset pages of one account's events in id order (the ledger export).
                      Index("ix_consent_events_account_id_id", "account_id", "id"))

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    #: No index of its own: ix_consent_events_account_id_id serves every query by account.
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    #: Position in the contact's chain, from 1.
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(30))
    #: UTC, microseconds.
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    list_id: Mapped[str | None] = mapped_column(ForeignKey("lists.id"), index=True)
    #: What caused it: ``form:<id>``, ``api_key:<id>``, ``import:<id>``, ``feedback:<id>``, ``link``...
    source: Mapped[str] = mapped_column(String(100))
    #: Message-ID or platform message id, when the event is about a message.
    message_ref: Mapped[str | None] = mapped_column(String(500))
    #: The consent text version the subscriber saw.
    consent_text_id: Mapped[int | None] = mapped_column(ForeignKey("consent_texts.id"))
    #: Who acted (:mod:`portal.consent.actors`): ``person``, ``customer``, ``platform``, ``operator``
    #: or ``system``; null only on events from before it was kept.
    actor: Mapped[str | None] = mapped_column(String(20))
    #: The API key the customer or platform acted with (or that relayed the person's own mail).
    actor_key_id: Mapped[str | None] = mapped_column(String(32))
    #: Non-personal evidence: form id, consent text version, reason, import id...
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Personal fields: redactable.
    email: Mapped[str | None] = mapped_column(String(320))
    ip: Mapped[str | None] = mapped_column(String(45))
    #: The IP truncated to its /24 (IPv4) or /48 (IPv6), kept when the full IP is dropped.
    ip_prefix: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(Text)
    page_url: Mapped[str | None] = mapped_column(Text)
    #: Salt of the commitments; dropped once every personal field is redacted.
    pii_salt: Mapped[str | None] = mapped_column(String(32))
    #: field -> sha256(salt, field, value) for each personal field given at insert.
    pii_commitments: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: HMAC of ``hash`` with the ledger key (outside the database); NULL only on events written
    #: before keyed hashes, which the first signed checkpoint vouches for.
    mac: Mapped[str | None] = mapped_column(String(64))
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LedgerCheckpoint(db.Model):
    """A seal over every event with an id up to ``last_event_id``, chained to the previous seal.

    Rows are inserted, never changed (the database refuses UPDATE, DELETE and TRUNCATE), and
    each signed one is also appended to the anchor log outside the database.
    """

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    first_event_id: Mapped[int] = mapped_column(BigIntKey)
    #: Indexed: a proof finds the checkpoint sealing an event by it.
    last_event_id: Mapped[int] = mapped_column(BigIntKey, index=True)
    event_count: Mapped[int] = mapped_column(Integer)
    #: The previous checkpoint's digest; unique, so two sealers at once cannot fork the chain.
    prev_digest: Mapped[str] = mapped_column(String(64), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Position in the chain of checkpoints, from 1.
    seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    # Signed checkpoints (NULL on those sealed before signing): ``digest`` is then the SHA-256 of
    # the signed fields (see :mod:`portal.consent.verify`), ``events_root`` the Merkle root of
    # the sealed events' hashes in id order.
    events_root: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(16))
    #: Ed25519, base64url.
    signature: Mapped[str | None] = mapped_column(String(100))
    #: 3: the tree's leaves are :func:`~portal.consent.verify.leaf_entry` (id, hash, last of its
    #: chain here); NULL on checkpoints sealed before (signed ones: version 2, plain hashes).
    version: Mapped[int | None] = mapped_column(Integer)
    #: ``[first event id, root]`` of each 1024 leaves (:func:`~portal.consent.verify.chunk_roots`)
    #: when there are more: a proof then reads one chunk, not the whole checkpoint. Not signed
    #: (derived from what is); ``ledger verify`` checks it.
    chunks: Mapped[list[list] | None] = mapped_column(JSONType)

    @property
    def signed(self) -> bool:
        """Whether this checkpoint carries a signature (not one sealed before signing)."""
        return self.signature is not None
