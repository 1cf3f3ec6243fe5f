"""Who acted on a ledger event: the person, the customer (an account key), the platform (the
platform key), an operator (the CLI) or the system."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import click
from flask import g, has_app_context, has_request_context

PERSON, CUSTOMER, PLATFORM, OPERATOR, SYSTEM = "person", "customer", "platform", "operator", "system"
KINDS = (PERSON, CUSTOMER, PLATFORM, OPERATOR, SYSTEM)


@dataclass(frozen=True)
class Actor:
    """Who acted, and the API key they used (or that relayed the person's own mail)."""

    kind: str
    key_id: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown actor {self.kind!r}")


#: Work no one asked for at that moment: the outbox worker's mail, the retention purge, a job.
SYSTEM_ACTOR = Actor(SYSTEM)


def relayed_by_key() -> Actor:
    """The person, whose own act (a mail, a feedback-loop complaint) the request's key relays."""
    return Actor(PERSON, current().key_id)


def of_key(key) -> Actor:
    """The actor behind an API key: an account key is the customer, a platform key the platform."""
    return Actor(PLATFORM if key.scope == "platform" else CUSTOMER, key.id)


def current() -> Actor:
    """The actor of this moment: one set by :func:`acting_as`; else the request's API key; else,
    on a page, the person whose link it is; else, in a CLI command, an operator; else (a
    background job: a worker, the retention purge) the system.

    The workers and the cron jobs run as CLI commands too, so each names the system itself
    (:data:`SYSTEM_ACTOR`): only the commands an operator types are the operator's.
    """
    if has_app_context() and g.get("ledger_actor") is not None:
        return g.ledger_actor
    if has_request_context():
        key = g.get("api_key")
        return of_key(key) if key is not None else Actor(PERSON)
    if click.get_current_context(silent=True) is not None:
        return Actor(OPERATOR)
    return SYSTEM_ACTOR


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Events recorded inside the block name ``actor`` (a relayed mail, a background job)."""
    previous = g.get("ledger_actor")
    g.ledger_actor = actor
    try:
        yield actor
    finally:
        g.ledger_actor = previous
