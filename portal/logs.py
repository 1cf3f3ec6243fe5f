"""Logging: token masking, request ids, JSON lines (``PORTAL_LOG_FORMAT=json``), gunicorn's access log.

Every URL that carries a link token and every ``unsubscribe+TOKEN@`` address is written to a log
with the token replaced by ``***``: :func:`mask` is the one function that does it, used by the
app's request log, the JSON formatter, the development server's log and gunicorn's access log
(:class:`GunicornLogger`, named in ``gunicorn.conf.py``). Which URLs carry a token is not a list
kept by hand: it is every rule of the app's URL map with a ``<token>`` argument
(:func:`learn_token_routes`, done by ``create_app`` and again at the app's first request, for a rule
added in between), so a new token page is masked, and sent ``no-store`` and ``no-referrer``
(``portal.security``), the day it is added. A process that never built an app masks ``mailto`` tokens only.
"""
from __future__ import annotations

import contextvars
import itertools
import json
import logging
import os
import re
import time
from datetime import datetime, timezone

from flask import Flask, request
from gunicorn.glogging import Logger as _GunicornBaseLogger

#: The response (and accepted request) header that carries the request id.
REQUEST_ID_HEADER = "X-Request-ID"
#: The request id of the request being handled in this thread (None outside a request).
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

#: One path segment (a token, or another rule argument before it), as it may appear in a log line.
_SEGMENT = r"[^/?#\s\"'<>]+"
#: The start of every token route learnt so far (``/receipts/``), and the token segment after it.
_token_routes: dict = {"starts": (), "path": None, "start": None}
#: The token's class stops at "+", so each "unsubscribe+" scans only to the next one (linear: with
#: "+" in the class, "unsubscribe+" * 8000 took 4 s, each occurrence scanning to the end).
_MAILTO_TOKEN = re.compile(r"(unsubscribe(?:\+|%2B))[^@%+\s\"'&<>]+(@|%40)", re.IGNORECASE)
#: A request id a client or proxy may hand us; anything else is replaced by our own.
_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}\Z")

request_log = logging.getLogger("portal.request")


_ids: dict = {"pid": None}


def new_request_id() -> str:
    """32 hex characters: a random prefix per process and a counter (unique, and cheaper than uuid4)."""
    pid = os.getpid()
    if _ids["pid"] != pid:  # a new process (a forked worker): a prefix of its own
        _ids.update(pid=pid, prefix=os.urandom(8).hex(), counter=itertools.count(1))
    return f"{_ids['prefix']}{next(_ids['counter']):016x}"


def token_route_start(rule: str) -> str | None:
    """The pattern of what comes before ``<token>`` in a URL rule (``/receipts/`` of ``/receipts/<token>.json``)."""
    head, found, _tail = rule.partition("<token>")
    if not found:
        return None
    return "".join(_SEGMENT if part.startswith("<") else re.escape(part)
                   for part in re.split(r"(<[^>]*>)", head) if part)


def learn_token_routes(url_map) -> tuple[str, ...]:
    """Learn the token routes of ``url_map`` (its rules with a ``token`` argument) for :func:`mask` and
    :func:`is_token_path`; the starts of all the token routes known."""
    starts = {token_route_start(rule.rule) for rule in url_map.iter_rules() if "token" in rule.arguments}
    known = tuple(sorted(set(_token_routes["starts"]) | starts - {None}, key=lambda s: (-len(s), s)))
    if known != _token_routes["starts"]:
        alternatives = "|".join(known)
        _token_routes.update(starts=known, path=re.compile(f"((?:{alternatives})){_SEGMENT}"),
                             start=re.compile(f"(?:{alternatives})"))
    return known


def is_token_path(path: str) -> bool:
    """Whether ``path`` is under a token route (a token page, or a mistyped path below one)."""
    start = _token_routes["start"]
    return start is not None and start.match(path) is not None


def mask(text: str) -> str:
    """``text`` with every link token in a path and every ``unsubscribe+TOKEN@`` token replaced by ``***``."""
    if not isinstance(text, str) or ("/" not in text and "unsubscribe" not in text.lower()):
        return text
    token_path = _token_routes["path"]
    if token_path is not None:
        text = token_path.sub(r"\1***", text)
    return _MAILTO_TOKEN.sub(r"\1***\2", text)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message (masked), request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            entry["request_id"] = request_id
        if getattr(record, "http", None):
            entry["http"] = record.http
        if record.exc_info:
            entry["exception"] = mask(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class MaskingFilter(logging.Filter):
    """Masks tokens in records of loggers that write URLs (the development server's request lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


class RequestMiddleware:
    """The outermost WSGI layer: a request id (sent back in ``X-Request-ID``), metrics, the request log."""

    def __init__(self, wsgi_app, log_requests: bool, url_map=None) -> None:
        from werkzeug.routing import Map

        from portal import api, metrics
        from portal.suppression import fastpath

        self.wsgi_app = wsgi_app
        self.log_requests = log_requests
        self.url_map = url_map  # learnt at the first request, when every route is in it
        self.observe = metrics.observe
        fast = fastpath.LookupFastPath.declaration()
        self.fast_rule = api.bp.url_prefix + fast.rule
        self.fast_route = api.path_pattern(fast, (url_map or Map()).converters)

    def __call__(self, environ, start_response):
        if self.url_map is not None:  # Flask takes no new route after the first request
            learn_token_routes(self.url_map)
            self.url_map = None
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if incoming and _GOOD_ID.match(incoming) else new_request_id()
        environ["portal.request_id"] = request_id
        started = time.perf_counter()
        status = []

        def start(line, headers, exc_info=None):
            status[:] = [line]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(line, headers, exc_info)

        def finish() -> None:
            seconds = time.perf_counter() - started
            code = int(status[0].split(" ", 1)[0]) if status else 500
            route = environ.get("portal.route") or self._route(environ)
            method = environ.get("REQUEST_METHOD", "")
            self.observe(route, method, code, seconds)
            if self.log_requests:
                self._log(environ, request_id, method, route, code, seconds)

        reset = REQUEST_ID.set(request_id)
        try:
            body = self.wsgi_app(environ, start)
        except BaseException:
            status[:] = ["500 Internal Server Error"]
            raise
        finally:
            # Timed until the answer starts (a streamed export's rows come after).
            finish()
            REQUEST_ID.reset(reset)
        return body

    def _route(self, environ) -> str:
        """The route of a request Flask did not match (or never saw: the lookup fast path)."""
        return self.fast_rule if self.fast_route.match(environ.get("PATH_INFO", "")) else "unmatched"

    @staticmethod
    def _log(environ, request_id, method, route, code, seconds) -> None:
        path = mask(environ.get("PATH_INFO", ""))
        http = {"method": method, "path": path, "route": route, "status": code,
                "duration_ms": round(seconds * 1000, 2), "remote_addr": environ.get("REMOTE_ADDR")}
        request_log.info("%s %s %s", method, path, code, extra={"http": http, "request_id": request_id})


def _remember_route() -> None:
    """Note the matched URL rule, for the metrics and request log of :class:`RequestMiddleware`."""
    if request.url_rule is not None:
        request.environ["portal.route"] = request.url_rule.rule


def configure_json_logging() -> logging.Handler:
    """Send every log record (root logger) to stderr as JSON lines; the handler (added once)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler.formatter, JsonFormatter):
            return handler
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return handler


def init_app(app: Flask) -> None:
    """Request ids, request metrics, masking; JSON lines when ``PORTAL_LOG_FORMAT=json``."""
    json_lines = app.config.get("PORTAL_LOG_FORMAT") == "json"
    if json_lines:
        from flask.logging import default_handler

        configure_json_logging()
        app.logger.removeHandler(default_handler)  # records go to the root's JSON handler
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, MaskingFilter) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(MaskingFilter())
    app.before_request(_remember_route)
    app.wsgi_app = RequestMiddleware(app.wsgi_app, log_requests=json_lines, url_map=app.url_map)


class GunicornLogger(_GunicornBaseLogger):
    """gunicorn's logger with link tokens masked in the access log, and JSON lines with ``PORTAL_LOG_FORMAT=json``."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        from portal.config import Config

        if Config.PORTAL_LOG_FORMAT == "json":
            for handler in (*self.error_log.handlers, *self.access_log.handlers):
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time):
        """The access line, with the request id the app gave the request (JSON lines: ``request_id``,
        the same as the app's request line and the ``X-Request-ID`` header)."""
        reset = REQUEST_ID.set(environ.get("portal.request_id"))
        try:
            super().access(resp, req, environ, request_time)
        finally:
            REQUEST_ID.reset(reset)

    def atoms(self, resp, req, environ, request_time):
        """The access log's fields, each masked (request line, path, query, Referer...)."""
        atoms = super().atoms(resp, req, environ, request_time)
        for name, value in list(atoms.items()):
            if isinstance(value, str):
                atoms[name] = mask(value)
        return atoms
