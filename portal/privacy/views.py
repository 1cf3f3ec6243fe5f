"""Download my data and erase my data, linked from the preference centre (SPEC section 3).

Erasure takes two steps: the preferences link (which may have been forwarded) only asks for a
confirmation mail; the short-lived link in that mail, opened by whoever reads the mailbox,
erases. Every GET shows a button and changes nothing.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale

from portal import links
from portal.extensions import csrf, limiter
from portal.privacy import export, operations
from portal.privacy.forms import ActionForm, require_valid
from portal.subscriptions.holders import erased_sender, resolve
from portal.web import config_limit, private, use_account, writes

bp = Blueprint("privacy", __name__)
#: Every POST of these pages (download, erase request, erase) shares one per-IP limit.
_limited = limiter.shared_limit(config_limit("PORTAL_PRIVACY_IP_LIMIT"), scope="privacy")


@bp.get("/preferences/<token>/data")
@private
def data_page(token: str):
    contact = resolve("preferences", token).contact
    use_account(contact.account)
    return render_template("privacy/data.html", account=contact.account, form=ActionForm(token, "data"),
                           address=contact.email, token=token)


@bp.post("/preferences/<token>/data")
@csrf.exempt
@_limited
@private
def data_download(token: str):
    contact = resolve("preferences", token).contact
    require_valid(ActionForm(token, "data"))
    document = export.export_contact(contact)
    return Response(json.dumps(document, indent=2, ensure_ascii=False), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="my-data.json"'})


@bp.get("/preferences/<token>/erase")
@private
def erase_page(token: str):
    contact = resolve("preferences", token).contact
    use_account(contact.account)
    return render_template("privacy/erase.html", account=contact.account, form=ActionForm(token, "erase_request"),
                           address=contact.email, token=token)


@bp.post("/preferences/<token>/erase")
@csrf.exempt
@_limited
@private
@writes()
def erase_request(token: str):
    contact = resolve("preferences", token).contact
    use_account(contact.account)
    require_valid(ActionForm(token, "erase_request"))
    operations.queue_erasure_link(contact, locale=str(get_locale() or contact.account.locale))
    return redirect(url_for("privacy.erase_sent", token=token, lang=_lang()), code=303)


@bp.get("/preferences/<token>/erase/sent")
@private
def erase_sent(token: str):
    """The erase request's answer (Post/Redirect/Get): the same page whether or not a mail went
    out, it tells nothing about the address."""
    contact = resolve("preferences", token).contact
    use_account(contact.account)
    return render_template("privacy/erase_sent.html", account=contact.account)


@bp.get("/erase/<token>")
@private
def erase_confirm_page(token: str):
    contact = resolve("erase", token).contact
    use_account(contact.account)
    return render_template("privacy/erase_confirm.html", account=contact.account, form=ActionForm(token, "erase"),
                           address=contact.email, preferences_url=links.preferences_url(links.Target(contact.id)))


@bp.post("/erase/<token>")
@csrf.exempt
@_limited
@private
@writes()
def erase_confirm(token: str):
    contact = resolve("erase", token).contact
    use_account(contact.account)
    require_valid(ActionForm(token, "erase"))
    operations.erase_contact(contact, source="erase_link")
    return redirect(url_for("privacy.erased", token=token, lang=_lang()), code=303)


@bp.get("/erase/<token>/done")
@private
def erased(token: str):
    """The erasure's answer (Post/Redirect/Get); before it, the link's own page. The erase link
    itself, opened again, is the invalid-link page naming the sender."""
    sender = erased_sender("erase", token)  # an expired or forged link raises: it erased no one
    if sender is None:
        return redirect(url_for("privacy.erase_confirm_page", token=token, lang=_lang()), code=303)
    use_account(sender)
    return render_template("privacy/erased.html", account=sender)


def _lang() -> str | None:
    """The language the form was posted in (``?lang=``), kept on the page of its result."""
    lang = request.args.get("lang")
    return lang if lang in current_app.config["PORTAL_LOCALES"] else None
