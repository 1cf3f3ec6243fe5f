"""``/api/v1/accounts/<id>/ledger``: a contact's consent history; ``/api/v1/ledger/checkpoints``."""
from __future__ import annotations

from flask import jsonify
from pydantic import ConfigDict, Field
from sqlalchemy import select

from portal import api
from portal.accounts.models import Account
from portal.consent import operations, proofs
from portal.consent.models import LedgerCheckpoint
from portal.subscriptions.operations import find_contact
from portal.addresses import normalise
from portal.errors import NotFound
from portal.extensions import db


class LedgerQuery(api.Schema):
    model_config = ConfigDict(extra="ignore")
    email: str = Field(min_length=3, max_length=320, json_schema_extra=api.EMAIL)


class LedgerEventOut(api.Schema):
    id: int
    type: str
    occurred_at: str
    list_id: str | None
    source: str
    #: Who acted: ``{"type": person|customer|platform|operator|system, "key_id"}``.
    actor: dict | None = None
    ip: str | None
    user_agent: str | None
    evidence: dict


class LedgerOut(api.Schema):
    email: str
    events: list[LedgerEventOut]


@api.route("/accounts/<account_id>/ledger", "GET", summary="A contact's consent history, oldest first",
           query=LedgerQuery, response=LedgerOut, tag="ledger")
def contact_ledger(account: Account, query: LedgerQuery):
    contact = find_contact(account.id, normalise(query.email))
    events = operations.events_for_contact(contact.id) if contact else []
    return {"email": query.email, "events": [operations.serialize(event) for event in events]}


class ProofOut(api.Schema):
    format: str
    generated_at: str
    account_id: str
    contact_id: int
    #: Null once the contact is erased.
    email: str | None
    events: list[dict]
    consent_texts: list[dict]
    #: The privacy notice versions the events record (as shown, with their SHA-256).
    privacy_notices: list[dict]
    checkpoints: list[dict]
    keys_url: str


@api.route("/accounts/<account_id>/ledger/proof", "GET", summary="A contact's proof bundle: every event, "
           "the consent texts, the chain and the signed checkpoints that seal them (check it offline with "
           "python -m portal.consent.verify)", query=LedgerQuery, response=ProofOut, tag="ledger")
def contact_proof(account: Account, query: LedgerQuery):
    contact = find_contact(account.id, normalise(query.email))
    if contact is None:
        raise NotFound("No contact with this address in this account.")
    return proofs.bundle(contact)


class CheckpointsQuery(api.Schema):
    model_config = ConfigDict(extra="ignore")
    #: The ``seq`` of the last checkpoint the caller holds.
    after: int = Field(default=0, ge=0, le=2**31 - 1)  # the column is a 32-bit integer
    limit: int = Field(default=1000, ge=1, le=5000)


class CheckpointOut(api.Schema):
    version: int
    seq: int
    prev_digest: str
    first_event_id: int
    last_event_id: int
    event_count: int
    events_root: str
    created_at: str
    key_id: str
    digest: str
    signature: str


class CheckpointsOut(api.Schema):
    items: list[CheckpointOut]
    #: Pass as ``after`` for the next page; null on the last page.
    next_after: int | None


@api.route("/ledger/checkpoints", "GET", summary="The signed ledger checkpoints after seq ``after``, "
           "to keep a copy elsewhere (public: they hold no personal data)", scopes=api.PUBLIC,
           query=CheckpointsQuery, response=CheckpointsOut, tag="ledger")
def ledger_checkpoints(query: CheckpointsQuery):
    rows = list(db.session.scalars(
        select(LedgerCheckpoint).where(LedgerCheckpoint.signature.is_not(None), LedgerCheckpoint.seq > query.after)
        .order_by(LedgerCheckpoint.seq).limit(query.limit + 1)))
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    response = jsonify({"items": [operations.checkpoint_document(row) for row in rows],
                        "next_after": rows[-1].seq if more else None})
    # Auditors, regulators and the sending platform copy it, from scripts or a browser alike.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
