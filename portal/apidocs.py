"""``GET /api/v1/docs``: the API documentation, Swagger UI rendering ``/api/v1/openapi.json``.

Swagger UI's files come from the pinned ``flask-swagger-ui`` package and are served by the
app itself (no CDN); the page's own start-up script is ``static/apidocs.js``, so the page
keeps the default Content-Security-Policy (no inline script or style, nothing from elsewhere).
"""
from __future__ import annotations

import functools
import os

import flask_swagger_ui
from flask import Blueprint, Response, render_template, request
from werkzeug.exceptions import NotFound

bp = Blueprint("apidocs", __name__, url_prefix="/api/v1/docs")

#: Swagger UI's distribution, as the package ships it.
DIST = os.path.join(os.path.dirname(flask_swagger_ui.__file__), "dist")
#: The files the page loads (nothing else of the distribution is served), with their types.
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js")
_TYPES = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript"}


@bp.get("")
def docs():
    """The documentation page, under the same strict policy as every page.

    Swagger UI needs nothing more: its files are the app's own ('self'), it sets styles through
    the DOM (which style-src does not govern), and the start-up script is a file, not inline.
    The browser test proves the page renders with no policy violation.
    """
    return render_template("apidocs.html")


@bp.get("/assets/<name>")
def asset(name: str):
    """One of Swagger UI's files."""
    if name not in ASSETS:
        raise NotFound()
    response = Response(_read(name), mimetype=_TYPES[name])
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    response.add_etag()
    return response.make_conditional(request)


@functools.cache
def _read(name: str) -> bytes:
    """A file's bytes, read once per process (2 MB in all)."""
    with open(os.path.join(DIST, name), "rb") as source:
        return source.read()
