"""The demo customer site: a pretend shop with the demo form's ``embed_html`` pasted in.

It is served on a second origin, as a customer's site would be: the portal's own host and
port under the other loopback name (``localhost`` when the portal is ``127.0.0.1``, and the
other way round), so the embedded form posts cross-origin.
"""
from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from flask import current_app

from portal.subscriptions.models import Form
from portal.subscriptions.operations import clean_origins, origin_of

_STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')


def origin() -> str:
    """The demo site's origin: the portal's base URL under the other loopback name."""
    parts = urlsplit(current_app.config["PORTAL_BASE_URL"])
    host = "127.0.0.1" if parts.hostname == "localhost" else "localhost"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def url(path: str = "") -> str:
    """The demo site's page (or ``path`` under it)."""
    return f"{origin()}/_dev/site{path}"


def adopt(form: Form) -> None:
    """Let the demo site embed ``form``, and send its signups back to the shop's thank-you page."""
    form.allowed_origins = clean_origins([*(form.allowed_origins or []), origin()])
    form.redirect_url = url("/thanks")


def portal_origin() -> str:
    """The portal's own origin, where the embedded form posts."""
    return origin_of(current_app.config["PORTAL_BASE_URL"])


def style_hashes(snippet: str) -> list[str]:
    """CSP sources that allow exactly the ``style`` attributes of ``snippet`` (the embed's honeypot)."""
    found = dict.fromkeys(_STYLE_ATTRIBUTE.findall(snippet))
    digests = [base64.b64encode(hashlib.sha256(value.encode()).digest()).decode() for value in found]
    return (["'unsafe-hashes'"] if digests else []) + [f"'sha256-{digest}'" for digest in digests]
