"""The single-address lookup served in front of Flask: the sending platform's hottest read.

``GET /api/v1/accounts/<account_id>/suppressions/<email>`` is asked once per recipient, so the
portal answers the plain case of it in a thin WSGI layer: a valid key, an account it may
reach, a valid ASCII address. It does the route's own work (the same key check, account check
and answer: :func:`portal.api.authenticate`, :func:`portal.api.check_account_id`,
:func:`portal.suppression.api.lookup_result`) and sends the same bytes and headers, without
the request context, URL map, hooks and response object that cost most of a lookup in Flask.

Anything else (another method, another path, no key or a bad one, an account it may not
reach, an invalid address, a failure of any kind) is handed to Flask untouched, which answers
it as it answers every API call: refusals and error shapes live in one place. A lookup
changes nothing, so handing over after a failure repeats no effect. ``PORTAL_FAST_LOOKUP=0``
turns the layer off.
"""
from __future__ import annotations

import re

from flask import Flask

from portal import api, security

#: The lookup route's path: account id, address (with an "@"; ``<path:>`` cannot start with "/").
ROUTE = re.compile(re.escape(api.bp.url_prefix) + r"/accounts/([^/]+)/suppressions/([^/][^@]*@.*)\Z", re.S)


def init_app(app: Flask) -> None:
    """Serve plain lookups in front of Flask unless ``PORTAL_FAST_LOOKUP`` is off."""
    if app.config["PORTAL_FAST_LOOKUP"]:
        app.wsgi_app = LookupFastPath(app, app.wsgi_app)


class LookupFastPath:
    """WSGI middleware in front of ``app.wsgi_app``: answers plain lookups, passes the rest on."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "GET":
            match = ROUTE.match(environ.get("PATH_INFO", ""))
            if match is not None:
                answer = self._answer(environ, *match.groups())
                if answer is not None:
                    start_response("200 OK", answer[0])
                    return [answer[1]]
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ, account_id: str, email: str) -> tuple[list, bytes] | None:
        """(headers, body) of the lookup, or None when Flask should answer."""
        from portal.suppression.api import LOOKUP_SCOPES, lookup_result

        if not (account_id.isascii() and email.isascii()) or not self._compact():
            return None  # Werkzeug decodes other bytes by its own rules; Flask's debug JSON is indented
        try:
            with self.app.app_context():
                key = api.authenticate(environ.get("HTTP_AUTHORIZATION", ""), LOOKUP_SCOPES)
                answer = lookup_result(api.check_account_id(key, account_id), email)
        except Exception:  # noqa: BLE001 - refusals and failures alike: Flask answers (and logs) them
            return None
        body = (self.app.json.dumps(answer, indent=None, separators=(",", ":")) + "\n").encode()
        headers = [("Content-Type", self.app.json.mimetype), ("Content-Length", str(len(body)))]
        headers.extend(security.default_headers(environ.get("wsgi.url_scheme") in ("https", "wss")))
        return headers, body

    def _compact(self) -> bool:
        """Whether Flask sends this app's JSON compact (as ``DefaultJSONProvider.response`` decides)."""
        compact = getattr(self.app.json, "compact", None)
        return compact or compact is None and not self.app.debug
