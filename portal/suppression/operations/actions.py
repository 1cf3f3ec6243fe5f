"""What the API's callers ask of suppressions: with the scope rules of their key, and recorded.

Each operation is given the key that asks (its ``id`` and ``scope``): nothing here reads the request.
"""
from __future__ import annotations

from portal.accounts.models import Account, ApiKey
from portal.addresses import normalise, try_normalise
from portal.consent import actors
from portal.consent.operations import record
from portal.consent.models import EventType
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.subscriptions.operations import find_contact, get_list
from portal.suppression.operations import entries as suppressions, feed
from portal.suppression.models import Suppression, SuppressionChannel, SuppressionReason, SuppressionScope
from portal.suppression.schemas import BulkEntry


def _source(key: ApiKey) -> str:
    return f"api_key:{key.id}"


def lookup(account: Account, email: str) -> list[tuple]:
    """Every entry stopping mail to ``email`` from ``account``, from the in-process index.

    :returns: (scope, account_id, list_id, reason, created_at) tuples, oldest first.
    """
    hits = suppressions.check_many([normalise(email)], account.id)
    return hits[0][1] if hits else []


def global_lookup(email: str) -> list[Suppression]:
    """The global entry of ``email``, if any."""
    return suppressions.global_entries(normalise(email))


def _scope(account: Account, list_id: str | None) -> tuple[str, str | None]:
    if list_id is None:
        return SuppressionScope.ACCOUNT, None
    return SuppressionScope.LIST, get_list(account, list_id).id


def _record(account: Account, address: str, event: str, entry: Suppression, note: str | None,
            key: ApiKey) -> int | None:
    """The ledger event of a key's change to a contact's suppression (its id; None: no such contact)."""
    contact = find_contact(account.id, address)
    if contact is None:
        return None
    return record(event, contact=contact, source=_source(key), list_id=entry.list_id,
                  evidence={"scope": entry.scope, "reason": entry.reason, "note": note},
                  actor=actors.of_key(key)).id


#: Reasons that say the subscriber acted (an unsubscribe, an erasure, a complaint): they come from
#: the person's own acts or from the platform, never from an account key, so that a suppression
#: with such a reason is always truly the subscriber's (and only they, or the platform for a
#: complaint, lift it). A customer's own list of people to leave alone is ``manual``.
RESERVED_REASONS = frozenset({SuppressionReason.UNSUBSCRIBED, SuppressionReason.ERASED,
                              SuppressionReason.COMPLAINT})


def _check_reason(reason: str, key: ApiKey, index: int | None = None) -> None:
    """An account key may not make a suppression that poses as the subscriber's own."""
    if reason not in RESERVED_REASONS or key.scope == "platform":
        return
    loc = ["reason"] if index is None else ["entries", index, "reason"]
    raise Forbidden(f"The reason {reason} is reserved to the subscriber's own acts and the platform; an "
                    "account key suppresses with manual (or hard_bounce, role_address, invalid).",
                    code="reserved_reason", details=[{"loc": loc, "msg": f"{reason} is reserved"}])


def add(account: Account, email: str, *, reason: str, list_id: str | None, note: str | None,
        key: ApiKey) -> list[Suppression]:
    """Suppress ``email`` for the account (or one of its lists); the entries afterwards."""
    _check_reason(reason, key)
    address = normalise(email)
    scope, list_id = _scope(account, list_id)
    entry = suppressions.add(address, scope=scope, reason=reason, account_id=account.id, list_id=list_id,
                             source=_source(key), note=note, channel=SuppressionChannel.API)
    if entry is not None:
        event_id = _record(account, address, EventType.SUPPRESSED, entry, note, key)
        if event_id is not None:
            feed.link(entry, event_id)
    return suppressions.entries_for(address, account.id)


#: Suppressions the subscriber made (an unsubscribe, an erasure): no key lifts them. Only the
#: person's own completed double opt-in does (:mod:`portal.signup.operations`).
SUBSCRIBER_OWNED = frozenset({SuppressionReason.UNSUBSCRIBED, SuppressionReason.ERASED})


def _check_removable(entry: Suppression, key: ApiKey) -> None:
    """Who may lift what: the subscriber's own opt-outs, nobody by key; a complaint, the
    platform key only (with the reason every removal records); anything else, either key."""
    if entry.reason in SUBSCRIBER_OWNED:
        raise Forbidden("This suppression is the subscriber's own; only their own new double opt-in "
                        "(a signup they confirm) lifts it.", code="subscriber_suppression")
    if entry.reason == SuppressionReason.COMPLAINT and key.scope != "platform":
        raise Forbidden("A complaint suppression can only be lifted by the platform, with a reason.",
                        code="complaint_suppression")


def remove(account: Account, email: str, *, reason: str, list_id: str | None, key: ApiKey) -> list[Suppression]:
    """Lift the account's (or a list's) entry of ``email``; the entries that remain."""
    address = normalise(email)
    scope, list_id = _scope(account, list_id)
    entry = suppressions.find(address, scope=scope, account_id=account.id, list_id=list_id)
    if entry is None:
        raise NotFound("This address is not suppressed in that scope.")
    _check_removable(entry, key)
    event_id = _record(account, address, EventType.UNSUPPRESSED, entry, reason, key)
    if not suppressions.remove(entry, note=reason, source=_source(key), channel=SuppressionChannel.API,
                               ledger_event_id=event_id):
        raise NotFound("This address is not suppressed in that scope.")
    return suppressions.entries_for(address, account.id)


def global_add(email: str, *, reason: str, note: str | None, key: ApiKey) -> list[Suppression]:
    """Suppress ``email`` for every account."""
    address = normalise(email)
    suppressions.add(address, scope=SuppressionScope.GLOBAL, reason=reason, source=_source(key), note=note,
                     channel=SuppressionChannel.API)
    return suppressions.global_entries(address)


def global_remove(email: str, *, reason: str, key: ApiKey) -> list[Suppression]:
    """Lift the global entry of ``email``."""
    address = normalise(email)
    entry = suppressions.find(address, scope=SuppressionScope.GLOBAL)
    if entry is None:
        raise NotFound("This address is not suppressed globally.")
    _check_removable(entry, key)
    if not suppressions.remove(entry, note=reason, source=_source(key), channel=SuppressionChannel.API):
        raise NotFound("This address is not suppressed globally.")
    return suppressions.global_entries(address)


def bulk_add(account: Account, entries: list[BulkEntry], *, key: ApiKey) -> dict:
    """Suppress many addresses for the account: counts added, already there, invalid."""
    for index, entry in enumerate(entries):
        _check_reason(entry.reason, key, index)
    valid, invalid = [], []
    list_ids = {entry.list_id for entry in entries if entry.list_id}
    for list_id in list_ids:
        get_list(account, list_id)
    for position, entry in enumerate(entries):
        address = try_normalise(entry.email)
        if address is None:
            invalid.append(position)
        else:
            valid.append((address, entry.reason, entry.list_id))
    added, already = suppressions.add_many(valid, account_id=account.id, source=_source(key),
                                           channel=SuppressionChannel.API)
    return {"added": added, "already": already, "invalid": len(invalid), "invalid_indexes": invalid}


