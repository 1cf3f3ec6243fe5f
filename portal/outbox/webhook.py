"""Webhook delivery: an HTTP POST of a prepared body; 2xx is success, anything else a failure."""
from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from flask import current_app


class WebhookFailed(Exception):
    """The endpoint did not answer 2xx in time."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not a success: never follow one (it would turn the POST into a GET)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def post(url: str, payload: dict[str, Any]) -> int:
    """POST ``payload['body']`` with ``payload['headers']`` to ``url``; the status, or WebhookFailed."""
    if not url.startswith(("http://", "https://")):
        raise WebhookFailed(f"not an http(s) URL: {url[:100]!r}")
    request = urllib.request.Request(url, data=str(payload.get("body", "")).encode("utf-8"), method="POST",
                                     headers=dict(payload.get("headers") or {}))
    try:
        with _opener.open(request, timeout=current_app.config["PORTAL_WEBHOOK_TIMEOUT_SECONDS"]) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        raise WebhookFailed(f"HTTP {error.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise WebhookFailed(str(getattr(error, "reason", error))) from None
    if not 200 <= status < 300:
        raise WebhookFailed(f"HTTP {status}")
    return status
