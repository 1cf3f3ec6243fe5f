"""``/api/v1/accounts/<id>/webhooks``: create, list and delete an account's webhook endpoints."""
from __future__ import annotations

from flask import Response

from portal import api
from portal.accounts.models import Account
from portal.db import isoformat
from portal.webhooks import operations
from portal.webhooks.models import WebhookEndpoint
from portal.webhooks.schemas import WebhookCreate, WebhookDeleteQuery, WebhookList, WebhookOut


def serialize(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> dict:
    """An endpoint as the API answers it; the secret only when just created."""
    out = {"id": endpoint.id, "url": endpoint.url, "events": list(endpoint.events or []),
           "created_at": isoformat(endpoint.created_at), "disabled_at": isoformat(endpoint.disabled_at)}
    if with_secret:
        out["secret"] = endpoint.secret
    return out


@api.route("/accounts/<account_id>/webhooks", "POST", summary="Add a webhook endpoint (the secret is shown once)",
           body=WebhookCreate, response=WebhookOut, status=201, tag="webhooks")
def create_webhook(account: Account, body: WebhookCreate):
    endpoint = operations.create_endpoint(account.id, url=body.url, events=body.events)
    return serialize(endpoint, with_secret=True)


@api.route("/accounts/<account_id>/webhooks", "GET", summary="The account's active webhook endpoints",
           response=WebhookList, tag="webhooks")
def list_webhooks(account: Account):
    return {"items": [serialize(endpoint) for endpoint in operations.active_endpoints(account.id)]}


@api.route("/accounts/<account_id>/webhooks/<webhook_id>", "DELETE", summary="Delete a webhook endpoint",
           status=204, tag="webhooks")
def delete_webhook(account: Account, webhook_id: str):
    operations.disable_endpoint(account.id, webhook_id)
    return Response(status=204)


@api.route("/accounts/<account_id>/webhooks", "DELETE", summary="Delete a webhook endpoint (`?id=`)",
           query=WebhookDeleteQuery, status=204, tag="webhooks")
def delete_webhook_by_query(account: Account, query: WebhookDeleteQuery):
    operations.disable_endpoint(account.id, query.id)
    return Response(status=204)
