"""The evidence of one request, as the ledger keeps it beside an event (personal fields redactable)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestEvidence:
    """Where a request came from: its channel, network address, browser, page and message.

    One vocabulary for every operation that records what a person did: signup and confirmation
    (``ip``, ``user_agent``, ``page_url``), unsubscribes and preferences (``source``: the channel,
    ``message_ref``, ``inbound_message_id`` of a mailto: unsubscribe).
    """

    source: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    page_url: str | None = None
    message_ref: str | None = None
    #: The Message-ID of an inbound mailto: unsubscribe mail (kept in the ledger's evidence).
    inbound_message_id: str | None = None
