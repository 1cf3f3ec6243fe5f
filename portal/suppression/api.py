"""``/api/v1/.../suppressions``: lookups, bulk checks, additions, removals and the changes feed."""
from __future__ import annotations

from flask import request

from portal import api
from portal.accounts.models import Account
from portal.addresses import normalise
from portal.db import isoformat
from portal.errors import PortalError, ValidationFailed
from portal.subscriptions.operations import get_list
from portal.suppression import eligibility, operations
from portal.suppression.models import Suppression, SuppressionChange
from portal.suppression.schemas import (BulkIn, BulkOut, ChangePage, CheckIn, CheckOut, DeliveriesIn, DeliveriesOut,
                                        LookupOut, RemoveQuery, SendCheckIn, SendCheckOut, SuppressionAdd,
                                        SuppressionRemove)

TAG = "suppressions"
#: Who may look an address up (the fast path checks the same).
LOOKUP_SCOPES = api.BOTH


def serialize_entry(entry: Suppression) -> dict:
    """One entry as lookups and checks answer it."""
    return {"scope": entry.scope, "list_id": entry.list_id, "reason": entry.reason,
            "created_at": isoformat(entry.created_at)}


def serialize_change(change: SuppressionChange) -> dict:
    """One feed row."""
    return {"seq": change.seq, "op": change.op, "email": change.email, "email_hash": change.email_hash,
            "scope": change.scope, "list_id": change.list_id, "reason": change.reason, "at": isoformat(change.at),
            "channel": change.channel, "ledger_event_id": change.ledger_event_id}


def index_entry(entry: tuple) -> dict:
    """One entry of the in-process index as lookups and checks answer it."""
    scope, _account_id, list_id, reason, created_at = entry
    return {"scope": scope, "list_id": list_id, "reason": reason, "created_at": created_at}


def lookup_answer(email: str, entries: list[Suppression]) -> dict:
    """The answer of a single lookup (and of an addition or removal)."""
    return {"email": email, "suppressed": bool(entries), "entries": [serialize_entry(e) for e in entries]}


@api.route("/accounts/<account_id>/suppressions/<path:email>", "GET", summary="Is this address suppressed?",
           scopes=LOOKUP_SCOPES, response=LookupOut, tag=TAG, account_row=False)
def lookup(account_id: str, email: str):
    return lookup_result(account_id, email)


def lookup_result(account_id: str, email: str) -> dict:
    """The lookup's answer (also served by :mod:`portal.suppression.fastpath`)."""
    hits = operations.check_many([normalise(email)], account_id)
    entries = [index_entry(entry) for entry in (hits[0][1] if hits else [])]
    return {"email": email, "suppressed": bool(entries), "entries": entries}


@api.route("/accounts/<account_id>/suppressions/check", "POST", summary="Check up to 10,000 addresses",
           body=CheckIn, response=CheckOut, tag=TAG)
def check(account: Account, body: CheckIn):
    hits = operations.check_many(body.emails, account.id)
    return {"checked": len(body.emails),
            "suppressed": [{"email": body.emails[position], "entries": [index_entry(entry) for entry in entries]}
                           for position, entries in hits]}


@api.route("/accounts/<account_id>/suppressions/<path:email>", "PUT", summary="Suppress an address",
           body=SuppressionAdd, response=LookupOut, tag=TAG)
def add(account: Account, email: str, body: SuppressionAdd):
    entries = operations.actions.add(account, email, reason=body.reason, list_id=body.list_id, note=body.note,
                                     key=api.current_key())
    return lookup_answer(email, entries)


def removal_reason(query: RemoveQuery) -> tuple[str, str | None]:
    """The reason (and list) of a removal, from the JSON body or the query string."""
    reason, list_id = query.reason, query.list_id
    if request.content_length or request.is_json:
        body = api.parse_body(SuppressionRemove)
        reason, list_id = body.reason, body.list_id or list_id
    if not reason or not reason.strip():
        raise ValidationFailed("Removing a suppression needs a reason (JSON body or ?reason=).")
    return reason, list_id


@api.route("/accounts/<account_id>/suppressions/<path:email>", "DELETE",
           summary="Lift an address's suppression (a reason is required)", query=RemoveQuery,
           optional_body=SuppressionRemove, response=LookupOut, tag=TAG)
def remove(account: Account, email: str, query: RemoveQuery):
    reason, list_id = removal_reason(query)
    entries = operations.actions.remove(account, email, reason=reason, list_id=list_id, key=api.current_key())
    return lookup_answer(email, entries)


@api.route("/accounts/<account_id>/suppressions/bulk", "POST", summary="Suppress up to 10,000 addresses",
           body=BulkIn, response=BulkOut, tag=TAG)
def bulk(account: Account, body: BulkIn):
    result = operations.actions.bulk_add(account, body.entries, key=api.current_key())
    return result


@api.route("/accounts/<account_id>/suppressions", "GET",
           summary="The changes feed: additions and removals in commit order", query=api.LongPageQuery,
           response=ChangePage, tag=TAG)
def feed(account: Account, query: api.LongPageQuery):
    if not isinstance(api.decode_cursor(query.cursor), (int, type(None))):
        raise PortalError("The cursor is not valid.", code="invalid_cursor")
    return api.paginate(operations.changes_for(account.id), SuppressionChange.seq, query, serialize_change,
                        max_limit=10_000)


@api.route("/suppressions/<path:email>", "GET", summary="Is this address suppressed globally?",
           scopes=api.PLATFORM, response=LookupOut, tag=TAG)
def global_lookup(email: str):
    return lookup_answer(email, operations.actions.global_lookup(email))


@api.route("/suppressions/<path:email>", "PUT", summary="Suppress an address globally", scopes=api.PLATFORM,
           body=SuppressionAdd, response=LookupOut, tag=TAG)
def global_add(email: str, body: SuppressionAdd):
    entries = operations.actions.global_add(email, reason=body.reason, note=body.note, key=api.current_key())
    return lookup_answer(email, entries)


@api.route("/suppressions/<path:email>", "DELETE", summary="Lift a global suppression (a reason is required)",
           scopes=api.PLATFORM, query=RemoveQuery, optional_body=SuppressionRemove, response=LookupOut, tag=TAG)
def global_remove(email: str, query: RemoveQuery):
    reason, _list_id = removal_reason(query)
    entries = operations.actions.global_remove(email, reason=reason, key=api.current_key())
    return lookup_answer(email, entries)


@api.route("/accounts/<account_id>/send-check", "POST", summary="May these addresses be mailed on this list?",
           body=SendCheckIn, response=SendCheckOut, tag="send")
def send_check(account: Account, body: SendCheckIn):
    results = eligibility.send_check(account, get_list(account, body.list_id), body.emails)
    return {"results": [{"email": email, "eligible": eligible, "reason": reason}
                        for email, eligible, reason in results]}


@api.route("/accounts/<account_id>/deliveries", "POST", summary="Report deliveries and bounces",
           scopes=api.PLATFORM, body=DeliveriesIn, response=DeliveriesOut, tag="send")
def report_deliveries(account: Account, body: DeliveriesIn):
    outcome = operations.record_events(account, body.events)
    return vars(outcome)
