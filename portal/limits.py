"""Per-route request body limits, set before anything (a hook, a rate-limit key, a view) reads the body.

Each route's limit is a config key: subscriber pages and the one-click unsubscribe a few KiB,
API bodies sized to their largest legal content, the message check a few MiB, feedback reports
``PORTAL_FEEDBACK_MAX_BYTES``, imports ``PORTAL_IMPORT_MAX_BYTES``. A declared ``Content-Length``
over the limit is answered ``413`` at once, without reading a byte; a body sent without one
(chunked) is read here, up to the limit, and cut off with the same ``413`` past it.
"""
from __future__ import annotations

import socket

from flask import Flask, current_app, request

from portal.errors import PayloadTooLarge

#: Endpoint -> the config key of its limit (the others: pages and API defaults below).
ENDPOINT_LIMITS = {
    "api.preferences_check_message": "PORTAL_MESSAGE_CHECK_MAX_BYTES",
    "api.complaints_submit_report": "PORTAL_FEEDBACK_MAX_BYTES",
    "api.imports_create_import": "PORTAL_IMPORT_MAX_BYTES",
    # Bodies of up to 10,000 recipients, addresses or events.
    "api.preferences_unsubscribe_links": "PORTAL_API_BATCH_MAX_BYTES",
    "api.suppression_check": "PORTAL_API_BATCH_MAX_BYTES",
    "api.suppression_bulk": "PORTAL_API_BATCH_MAX_BYTES",
    "api.suppression_send_check": "PORTAL_API_BATCH_MAX_BYTES",
    "api.suppression_report_deliveries": "PORTAL_API_BATCH_MAX_BYTES",
    "api.preferences_inbound_unsubscribe": "PORTAL_API_BATCH_MAX_BYTES",
}


def body_limit() -> int:
    """The largest body the current request's route accepts, in bytes."""
    config = current_app.config
    key = ENDPOINT_LIMITS.get(request.endpoint or "")
    if key is None:
        key = "PORTAL_API_MAX_BYTES" if request.path.startswith("/api/") else "PORTAL_PAGE_MAX_BYTES"
    return int(config[key])


def limit_body() -> None:
    """Bound this request's body to its route's limit; 413 at once when it declares more."""
    limit = body_limit()
    request.max_form_memory_size = min(limit, request.max_form_memory_size or limit)
    if (request.content_length or 0) > limit:
        stop_reading()  # gunicorn would otherwise drain the body it was told of before closing
        raise PayloadTooLarge(f"The request body may be at most {limit} bytes on this route.",
                              details={"max_bytes": limit})
    if request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        # No length declared: read it now, one byte past the limit at most (werkzeug stops at
        # its limit silently, and a parser would then see a truncated body).
        request.max_content_length = limit + 1
        if len(request.get_data(cache=True)) > limit:
            raise PayloadTooLarge(f"The request body may be at most {limit} bytes on this route.",
                                  details={"max_bytes": limit})
    request.max_content_length = limit


def stop_reading() -> None:
    """After a body stopped coming (the server's read timed out): shut the connection's read side,
    so that gunicorn does not spend another wait draining the rest before it closes it."""
    sock = request.environ.get("gunicorn.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass


def init_app(app: Flask) -> None:
    """Run :func:`limit_body` before every other hook (CSRF, the rate limiter and its keys)."""
    app.before_request_funcs.setdefault(None, []).insert(0, limit_body)
