"""``/api/v1/accounts/<id>/ledger``: a contact's consent history."""
from __future__ import annotations

from pydantic import ConfigDict, Field

from portal import api
from portal.accounts.models import Account
from portal.consent import operations
from portal.subscriptions.operations import find_contact
from portal.addresses import normalise


class LedgerQuery(api.Schema):
    model_config = ConfigDict(extra="ignore")
    email: str = Field(min_length=3, max_length=320)


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
