"""``GET /api/v1/docs``: the API documentation, Swagger UI rendering ``/api/v1/openapi.json``.

Swagger UI's files come from the pinned ``flask-swagger-ui`` package and are served by the
app itself (no CDN); the page's own start-up script is ``static/apidocs.js``.
"""
from __future__ import annotations

import os

import flask_swagger_ui
from flask import Blueprint, g, render_template, send_from_directory
from werkzeug.exceptions import NotFound

bp = Blueprint("apidocs", __name__, url_prefix="/api/v1/docs")

#: Swagger UI's distribution, as the package ships it.
DIST = os.path.join(os.path.dirname(flask_swagger_ui.__file__), "dist")
#: The files the page loads (nothing else of the distribution is served).
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js")


@bp.get("")
def docs():
    """The documentation page."""
    # Swagger UI sets element styles from script, which a CSP without 'unsafe-inline' in
    # style-src blocks; only this page widens it.
    g.csp_sources = {"style-src": ["'unsafe-inline'"]}
    return render_template("apidocs.html")


@bp.get("/assets/<name>")
def asset(name: str):
    """One of Swagger UI's files."""
    if name not in ASSETS:
        raise NotFound()
    return send_from_directory(DIST, name, max_age=86400)
