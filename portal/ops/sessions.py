"""The console's own session cookie: ``ops_session``, path ``/ops/``, Secure, HttpOnly, SameSite=Strict.

Separate from the subscriber pages' session (its flags and its anti-forgery scheme are theirs),
signed with its own salt, so neither cookie can stand in for the other.
"""
from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSessionInterface, SessionInterface

PREFIX = "/ops/"


class OpsCookieSessions(SecureCookieSessionInterface):
    """Signed cookie sessions for ``/ops/`` only."""

    salt = "ops-session"

    def get_cookie_name(self, app: Flask) -> str:
        return "ops_session"

    def get_cookie_path(self, app: Flask) -> str:
        return PREFIX

    def get_cookie_domain(self, app: Flask) -> None:
        return None

    def get_cookie_httponly(self, app: Flask) -> bool:
        return True

    def get_cookie_samesite(self, app: Flask) -> str:
        return "Strict"

    def get_cookie_secure(self, app: Flask) -> bool:
        return app.config["PORTAL_BASE_URL"].startswith("https://")


class ConsoleSessions(SessionInterface):
    """The console's sessions under ``/ops/``; everything else goes to the app's own interface."""

    def __init__(self, inner: SessionInterface):
        self.inner, self.ops = inner, OpsCookieSessions()

    def _for(self, request: Request) -> SessionInterface:
        return self.ops if request.path == PREFIX[:-1] or request.path.startswith(PREFIX) else self.inner

    def open_session(self, app, request):
        return self._for(request).open_session(app, request)

    def save_session(self, app, session, response):
        from flask import request

        return self._for(request).save_session(app, session, response)

    def make_null_session(self, app):
        return self.inner.make_null_session(app)

    def is_null_session(self, obj) -> bool:
        return self.inner.is_null_session(obj)


def install(app: Flask) -> None:
    """Put the console's sessions in front of the app's (idempotent)."""
    if not isinstance(app.session_interface, ConsoleSessions):
        app.session_interface = ConsoleSessions(app.session_interface)
