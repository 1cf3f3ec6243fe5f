"""``GET /``: what this service is, and where its documentation is. No account data."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """A short page about the service, with links to the API docs (and the dev pages in development)."""
    config = current_app.config
    return render_template("home.html", dev_links=_dev_links(config) if config.get("PORTAL_DEVELOPMENT") else None)


def _dev_links(config) -> dict | None:
    """The development pages' links, for a client they answer (this machine, unless opened wider)."""
    from portal import dev
    from portal.dev import site

    if not dev.allowed():
        return None
    return {"site": site.url(), "inbox": None if config.get("MAIL_SERVER") else "/_dev/mail"}
