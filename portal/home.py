"""``GET /``: what this service is, and where its documentation is. No account data."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """A short page about the service, with links to the API docs (and the dev pages in development)."""
    config = current_app.config
    development = bool(config.get("PORTAL_DEVELOPMENT"))
    dev_links = None
    if development:
        from portal.dev import site

        dev_links = {"site": site.url(), "inbox": None if config.get("MAIL_SERVER") else "/_dev/mail"}
    return render_template("home.html", dev_links=dev_links)
