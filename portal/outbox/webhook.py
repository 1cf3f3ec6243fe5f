"""Webhook delivery: an HTTP POST of a prepared body; 2xx is success, anything else a failure.

The URL is checked again before every delivery (portal/outbox/targets.py) and the connection
goes to the address that check resolved, with the name as Host and TLS server name. A redirect
is never followed (it is a failure); a refused target is recorded on the delivery like any failure.
"""
from __future__ import annotations

import http.client
import ssl
from typing import Any

from flask import current_app

from portal.outbox import targets


class WebhookFailed(Exception):
    """The endpoint did not answer 2xx in time."""


class WebhookRefused(WebhookFailed):
    """The URL may not receive webhooks now (it resolves to an address that is not public)."""


def _connection(target: targets.Target, timeout: float) -> http.client.HTTPConnection:
    """A connection to ``target.address`` that presents ``target.host``: no second lookup."""
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(target.host, target.port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    connect = targets.network().connect
    connection._create_connection = lambda _address, timeout=timeout, _source=None: connect(
        (target.address, target.port), timeout)
    return connection


def post(url: str, payload: dict[str, Any]) -> int:
    """POST ``payload['body']`` with ``payload['headers']`` to ``url``; the status, or WebhookFailed."""
    try:
        target = targets.check(url)
    except targets.TargetRefused as refused:
        raise WebhookRefused(f"refused: {refused}") from None
    connection = _connection(target, float(current_app.config["PORTAL_WEBHOOK_TIMEOUT_SECONDS"]))
    body = str(payload.get("body", "")).encode("utf-8")
    try:
        connection.request("POST", target.path, body=body, headers=dict(payload.get("headers") or {}))
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise WebhookFailed(str(error) or type(error).__name__) from None
    finally:
        connection.close()
    if 300 <= status < 400:
        raise WebhookFailed(f"HTTP {status} (redirects are not followed)")
    if not 200 <= status < 300:
        raise WebhookFailed(f"HTTP {status}")
    return status
