"""``GET /healthz``: is this process able to reach its database?"""
from flask import Blueprint, jsonify
from sqlalchemy import text

from portal.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 when the database answers, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # any driver error means "not healthy"
        db.session.rollback()
        return jsonify({"status": "unavailable", "database": type(error).__name__}), 503
    return jsonify({"status": "ok", "database": "ok"})
