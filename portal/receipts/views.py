"""``/receipts/<token>`` and ``/preferences/<token>/receipt``: a consent receipt, as a page or JSON."""
from __future__ import annotations

import json

from flask import Blueprint, Response, render_template
from flask_babel import get_locale

from portal.receipts import operations
from portal.web import private, use_account

bp = Blueprint("receipts", __name__)


def _render(contact, as_json: bool):
    use_account(contact.account)
    document = operations.receipt(contact, language=str(get_locale() or "en"))
    if as_json:
        return Response(json.dumps(document, indent=2, ensure_ascii=False), mimetype="application/json",
                        headers={"Content-Disposition": 'attachment; filename="consent-receipt.json"'})
    return render_template("receipts/receipt.html", receipt=document, account=contact.account,
                           token=operations.receipt_token(contact.id))


@bp.get("/receipts/<token>")
@private
def receipt_page(token: str):
    """The receipt, readable (English or Bahasa Indonesia), with a link to its JSON."""
    return _render(operations.contact_for_receipt("receipt", token), as_json=False)


@bp.get("/receipts/<token>.json")
@private
def receipt_json(token: str):
    """The receipt as JSON (ISO/IEC TS 27560 / Kantara Consent Receipt shape)."""
    return _render(operations.contact_for_receipt("receipt", token), as_json=True)


@bp.get("/preferences/<token>/receipt")
@private
def receipt_from_preferences(token: str):
    """The receipt reached from the preference centre (its token names the same contact)."""
    return _render(operations.contact_for_receipt("preferences", token), as_json=False)
