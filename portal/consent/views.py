"""``/.well-known/consent-ledger-keys``: the public keys that sign the ledger's checkpoints."""
from __future__ import annotations

from flask import Blueprint, jsonify

from portal.consent import keys

bp = Blueprint("consent", __name__)


@bp.get("/.well-known/consent-ledger-keys")
def ledger_keys():
    """Every Ed25519 key (current and retired) whose signature a checkpoint may carry."""
    response = jsonify(keys.public_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
