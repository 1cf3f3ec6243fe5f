"""Development pages: the dev inbox (``/_dev/mail``) and a demo customer site (``/_dev/site``).

They exist only when ``PORTAL_DEVELOPMENT`` is set (``make run`` sets it), the inbox only when
there is no ``MAIL_SERVER`` either: in production configuration both paths are 404. Even then
they answer only clients on this machine (the inbox shows every link it mails, an erase link
included) unless ``PORTAL_DEV_ALLOW_REMOTE`` is set.
"""
from __future__ import annotations

from flask import Flask, current_app, request

from portal.config import is_loopback


def allowed() -> bool:
    """Whether the current request's client may see the development pages."""
    return bool(current_app.config.get("PORTAL_DEV_ALLOW_REMOTE")) or is_loopback(request.remote_addr)


def init_app(app: Flask) -> None:
    """Register the development pages when the app runs in development."""
    if not app.config.get("PORTAL_DEVELOPMENT"):
        return
    from portal.dev import views

    app.register_blueprint(views.site_bp)
    if not app.config.get("MAIL_SERVER"):
        app.register_blueprint(views.mail_bp)
