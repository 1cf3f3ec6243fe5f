"""The single-address lookup served in front of Flask: the sending platform's hottest read.

``GET /api/v1/accounts/<account_id>/suppressions/<email>`` is asked once per recipient, so the
portal answers the plain case of it in a thin WSGI layer, without the request context, URL map,
hooks and response object that cost most of a lookup in Flask. Nothing of the route is written
twice: the layer takes the route's declaration as :func:`portal.api.route` recorded it (its rule,
turned into a pattern by the URL map's own converters; its scopes), runs the route's own checks
(:func:`portal.api.guard`) and its own view function, and writes the body as Flask's JSON answer
does (:meth:`portal.json_provider.OrjsonProvider.answer_text`), with the same headers.

Anything else (another method, another path, no key or a bad one, an account it may not
reach, an invalid address, a failure of any kind) is handed to Flask untouched, which answers
it as it answers every API call: refusals and error shapes live in one place. A lookup
changes nothing, so handing over after a failure repeats no effect. ``PORTAL_FAST_LOOKUP=0``
turns the layer off.
"""
from __future__ import annotations

from flask import Flask

from portal import api, security

#: The route served in front of Flask (its endpoint, as :func:`portal.api.route` names it).
ENDPOINT = "suppression_lookup"


def init_app(app: Flask) -> None:
    """Serve plain lookups in front of Flask unless ``PORTAL_FAST_LOOKUP`` is off."""
    if app.config["PORTAL_FAST_LOOKUP"]:
        app.wsgi_app = LookupFastPath(app, app.wsgi_app)


class LookupFastPath:
    """WSGI middleware in front of ``app.wsgi_app``: answers plain lookups, passes the rest on."""

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.operation = self.declaration()
        self.pattern = api.path_pattern(self.operation, app.url_map.converters)

    @staticmethod
    def declaration() -> api.Operation:
        """The route's declaration, as :func:`portal.api.route` recorded it (the request log names it too)."""
        import portal.suppression.api  # noqa: F401 - declares the route

        return api.operation_of(ENDPOINT)

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == self.operation.method:
            match = self.pattern.match(environ.get("PATH_INFO", ""))
            if match is not None:
                answer = self._answer(environ, match.groupdict())
                if answer is not None:
                    start_response("200 OK", answer[0])
                    return [answer[1]]
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ, values: dict[str, str]) -> tuple[list, bytes] | None:
        """(headers, body) of the lookup, or None when Flask should answer."""
        if not all(value.isascii() for value in values.values()):
            return None  # Werkzeug decodes other bytes by its own rules
        try:
            with self.app.app_context():
                _key, arguments = api.guard(self.operation, environ.get("HTTP_AUTHORIZATION", ""), values)
                answer = self.operation.view(**arguments)
        except Exception:  # noqa: BLE001 - refusals and failures alike: Flask answers (and logs) them
            return None
        if not isinstance(answer, dict) or self.operation.status != 200:
            return None  # a Response of the view's own making: Flask sends it
        body = self.app.json.answer_text(answer).encode()
        headers = [("Content-Type", self.app.json.mimetype), ("Content-Length", str(len(body)))]
        headers.extend(security.default_headers(environ.get("wsgi.url_scheme") in ("https", "wss")))
        return headers, body
