"""``/api/v1/accounts/<id>/ledger/export``: the account's consent ledger as streamed NDJSON."""
from __future__ import annotations

from flask import Response, stream_with_context
from pydantic import ConfigDict, Field

from portal import api
from portal.accounts.models import Account
from portal.consent.export import export_lines, parse_time
from portal.subscriptions.operations import get_list


class LedgerExportQuery(api.Schema):
    model_config = ConfigDict(extra="ignore")
    #: Events at or after this time (ISO 8601; naive means UTC).
    since: str | None = Field(default=None, max_length=64, json_schema_extra={"format": "date-time"})
    #: Events before this time (ISO 8601).
    until: str | None = Field(default=None, max_length=64, json_schema_extra={"format": "date-time"})
    #: Only events about this list.
    list_id: str | None = Field(default=None, max_length=32)


@api.route("/accounts/<account_id>/ledger/export", "GET",
           summary="The account's consent ledger as NDJSON, one event a line, oldest first, streamed",
           query=LedgerExportQuery, raw_response="application/x-ndjson", tag="ledger")
def export_ledger(account: Account, query: LedgerExportQuery):
    since, until = parse_time(query.since, "since"), parse_time(query.until, "until")
    if query.list_id:
        get_list(account, query.list_id)  # 404 for another account's list, before streaming
    lines = export_lines(account.id, since=since, until=until, list_id=query.list_id)
    return Response(stream_with_context(lines), mimetype="application/x-ndjson",
                    headers={"Content-Disposition": 'attachment; filename="ledger.ndjson"'})
