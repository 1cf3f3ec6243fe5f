"""``/privacy-notices/<id>``: a privacy notice version, public (it names no one)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from portal.accounts.models import Account
from portal.errors import NotFound
from portal.extensions import db
from portal.notices.models import PrivacyNotice
from portal.web import use_account

bp = Blueprint("notices", __name__)


@bp.get("/privacy-notices/<int:notice_id>")
def notice_page(notice_id: int):
    """The version's text in the page's language (or its only one) and its link, as published."""
    notice = db.session.get(PrivacyNotice, notice_id) if notice_id < 2**63 else None
    if notice is None:
        raise NotFound("No such privacy notice.")
    account = db.session.get(Account, notice.account_id) if notice.account_id else None
    use_account(account)
    owner = account.shown_and_legal_name if account else current_app.config["PORTAL_PLATFORM_NAME"]
    return render_template("notices/notice.html", notice=notice, owner=owner, account=account)
