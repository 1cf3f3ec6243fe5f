"""Creating, listing and disabling webhook endpoints; emitting signed events through the outbox."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from typing import Any

from sqlalchemy import select

from portal.db import isoformat, utcnow
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.outbox import operations as outbox
from portal.outbox import targets
from portal.outbox.models import OutboxMessage
from portal.webhooks.models import WebhookEndpoint, WebhookEvent

MAX_ENDPOINTS = 20


def check_url(url: str) -> str:
    """The URL if it may receive webhooks (https to a public address, see targets); else 422."""
    try:
        targets.check(url)
    except targets.TargetRefused as refused:
        raise ValidationFailed(f"The webhook url is refused: {refused}.",
                               details=[{"loc": ["url"], "msg": str(refused)}]) from None
    return url.strip()


def check_events(events: list[str]) -> list[str]:
    """The event names, deduplicated; 422 on an unknown one or none."""
    unknown = [name for name in events if name not in WebhookEvent.ALL]
    if unknown or not events:
        raise ValidationFailed("events must be some of: " + ", ".join(WebhookEvent.ALL) + ".")
    return list(dict.fromkeys(events))


def create_endpoint(account_id: str, *, url: str, events: list[str]) -> WebhookEndpoint:
    """A new endpoint with a fresh secret (flushes); the caller shows the secret once."""
    if len(active_endpoints(account_id)) >= MAX_ENDPOINTS:
        raise ValidationFailed(f"An account has at most {MAX_ENDPOINTS} webhook endpoints.")
    endpoint = WebhookEndpoint(account_id=account_id, url=check_url(url), events=check_events(events),
                               secret="whsec_" + secrets.token_urlsafe(32))
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


def active_endpoints(account_id: str) -> list[WebhookEndpoint]:
    """The account's endpoints not disabled, oldest first."""
    return list(db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.account_id == account_id, WebhookEndpoint.disabled_at.is_(None))
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)))


def disable_endpoint(account_id: str, webhook_id: str) -> WebhookEndpoint:
    """Stop sending to an endpoint (idempotent); 404 when it is not this account's."""
    endpoint = db.session.get(WebhookEndpoint, webhook_id)
    if endpoint is None or endpoint.account_id != account_id:
        raise NotFound("No such webhook.")
    if endpoint.disabled_at is None:
        endpoint.disabled_at = utcnow()
        db.session.flush()
    return endpoint


def sign(secret: str, body: bytes | str) -> str:
    """The ``X-Portal-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    raw = body.encode() if isinstance(body, str) else body
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def emit(account_id: str, event: str, data: dict[str, Any]) -> list[OutboxMessage]:
    """Queue ``event`` for every endpoint of the account subscribed to it (flushes).

    Runs in the caller's transaction, so a call is queued only if the change it reports commits.
    ``data`` should hold ids and the account's own contact email at most: nothing more personal.
    """
    if event not in WebhookEvent.ALL:
        raise ValueError(f"unknown webhook event {event!r}")
    messages = []
    for endpoint in active_endpoints(account_id):
        if event in (endpoint.events or []):
            messages.append(_queue(endpoint, event, data))
    db.session.flush()
    return messages


def _queue(endpoint: WebhookEndpoint, event: str, data: dict[str, Any]) -> OutboxMessage:
    delivery = str(uuid.uuid4())
    body = json.dumps({"id": delivery, "event": event, "account_id": endpoint.account_id,
                       "occurred_at": isoformat(utcnow()), "data": data},
                      separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    headers = {"Content-Type": "application/json", "X-Portal-Signature": sign(endpoint.secret, body),
               "X-Portal-Event": event, "X-Portal-Delivery": delivery}
    return outbox.enqueue_webhook(endpoint.account_id, url=endpoint.url, event=event, body=body, headers=headers)
