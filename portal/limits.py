"""Per-route request body limits, set before anything (a hook, a rate-limit key, a view) reads the body.

Each route's limit is a config key: subscriber pages and the one-click unsubscribe a few KiB,
API bodies sized to their largest legal content, the message check a few MiB, feedback reports
``PORTAL_FEEDBACK_MAX_BYTES``, imports ``PORTAL_IMPORT_MAX_BYTES``. A declared ``Content-Length``
over the limit is answered ``413`` at once, without reading a byte. A body sent without one
(chunked) is not read here: its input is wrapped in :class:`BoundedInput`, which raises the same
``413`` when whoever reads it (after the route's authentication) reaches the byte past the limit,
so no more than the limit is ever read, and nothing at all before the API key is checked.
"""
from __future__ import annotations

import io
import socket

from flask import Flask, current_app, request
from flask import Request as FlaskRequest

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


def too_large(limit: int) -> PayloadTooLarge:
    """The ``413`` of a body over ``limit`` bytes."""
    return PayloadTooLarge(f"The request body may be at most {limit} bytes on this route.",
                           details={"max_bytes": limit})


def limit_body() -> None:
    """Bound this request's body to its route's limit; 413 at once when it declares more."""
    limit = body_limit()
    request.max_form_memory_size = min(limit, request.max_form_memory_size or limit)
    if (request.content_length or 0) > limit:
        stop_reading()  # gunicorn would otherwise drain the body it was told of before closing
        raise too_large(limit)
    if request.content_length is None and request.headers.get("Transfer-Encoding"):
        # No length declared (chunked): read lazily, by whoever needs the body, and never past
        # the limit. werkzeug's own maximum stops reading at its limit without an error when the
        # body is read whole (get_data), so the view would see a truncated body: it is set one
        # byte above ours, and BoundedInput raises the 413 when that byte arrives.
        request.environ["wsgi.input"] = BoundedInput(request.environ, limit)
        request.max_content_length = limit + 1
        return
    request.max_content_length = limit


class BoundedInput(io.RawIOBase):
    """A request body of undeclared length that raises the route's ``413`` when it passes ``limit``
    bytes: at most ``limit + 1`` bytes are ever read from the client, and only when asked for."""

    def __init__(self, environ: dict, limit: int) -> None:
        super().__init__()
        self.stream, self.limit, self.read_bytes = environ["wsgi.input"], limit, 0
        self.socket = environ.get("gunicorn.socket")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        """Fill ``buffer`` from the client, one byte past the limit at most (then 413)."""
        wanted = min(len(buffer), self.limit + 1 - self.read_bytes)
        data = self.stream.read(wanted) if wanted > 0 else b""
        self.read_bytes += len(data)
        if self.read_bytes > self.limit:
            stop_reading(self.socket)  # the rest is never read: gunicorn need not wait for it
            raise too_large(self.limit)
        buffer[:len(data)] = data
        return len(data)


def stop_reading(sock=None) -> None:
    """Shut the read side of the request's connection (gunicorn's socket; nothing in other servers),
    so that gunicorn does not wait for, or drain, a body that will not be read before it closes it."""
    sock = sock if sock is not None else request.environ.get("gunicorn.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass


class Request(FlaskRequest):
    """Flask's request, which also closes the upload files of a body cut off in the middle of a part
    (werkzeug's parser drops them unclosed when the body's 413 interrupts it)."""

    def _get_file_stream(self, *args, **kwargs):
        stream = super()._get_file_stream(*args, **kwargs)
        self.__dict__.setdefault("portal_uploads", []).append(stream)
        return stream

    def close(self) -> None:
        """Close the parsed files, and every upload file opened for a part that never finished."""
        super().close()
        for stream in self.__dict__.get("portal_uploads", ()):
            stream.close()


def init_app(app: Flask) -> None:
    """Run :func:`limit_body` before every other hook (CSRF, the rate limiter and its keys)."""
    app.request_class = Request
    app.before_request_funcs.setdefault(None, []).insert(0, limit_body)
