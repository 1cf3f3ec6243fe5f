"""Unsubscribe pages (RFC 8058 one-click on the same URL) and the preference centre.

``POST /unsubscribe/<token>`` is exempt from CSRF: the URL is the credential, and mailbox
providers post to it with no cookie and no token. A body carrying the page's own form (its
``scope`` field and a valid CSRF token) is a person choosing; anything else is a one-click
unsubscribe from the token's list, whatever other fields or cookies come with it.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request

from portal import links
from portal.extensions import csrf, db, limiter
from portal.preferences import centre, operations
from portal.preferences.forms import PreferencesForm, ReasonForm, UndoForm, UnsubscribeForm
from portal.preferences.holders import Holder, resolve
from portal.preferences.operations import Context
from portal.web import config_limit, private, token_key, use_account

#: Unsubscribes are limited per link, not per IP: a mailbox provider's one-click POSTs for
#: many people come from a few addresses.
_per_link = limiter.limit(config_limit("PORTAL_UNSUBSCRIBE_TOKEN_LIMIT"), key_func=token_key)

bp = Blueprint("preferences", __name__)


@bp.after_request
def _token_page_headers(response):
    """Error pages of token URLs too: never cached, never sent on as a Referer."""
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _holder(purpose: str, token: str) -> Holder:
    holder = resolve(purpose, token)
    use_account(holder.account)
    return holder


def _context(source: str, holder: Holder) -> Context:
    return Context(source, ip=request.remote_addr, user_agent=request.headers.get("User-Agent"),
                   message_ref=holder.message_ref)


def _target(holder: Holder) -> links.Target:
    return links.Target(holder.contact.id, holder.mailing_list.id if holder.mailing_list else None,
                        holder.message_ref)


def _page(template: str, holder: Holder, token: str, **context):
    target = _target(holder)
    return render_template(f"preferences/{template}", account=holder.account, holder=holder, token=token,
                           preferences_url=links.preferences_url(target),
                           complaint_url=links.complaint_url(target), **context)


@bp.get("/unsubscribe/<token>")
@private
def unsubscribe_page(token: str):
    """The choice (this list, or everything); changes nothing (scanners fetch every link)."""
    holder = _holder("unsubscribe", token)
    return _page("unsubscribe.html", holder, token, form=UnsubscribeForm())


def _form_fields() -> dict:
    """The posted form fields; a body that does not parse (RFC 8058 §8.3's example) has none."""
    try:
        return request.form.to_dict()
    except Exception:  # noqa: BLE001 -- any unparsable body is a one-click POST
        return {}


@bp.post("/unsubscribe/<token>")
@csrf.exempt
@_per_link
@private
def unsubscribe(token: str):
    """Unsubscribe: the page's own form (person's choice) or an RFC 8058 one-click POST (200)."""
    holder = _holder("unsubscribe", token)
    if "scope" in _form_fields():
        form = UnsubscribeForm()
        if form.validate():
            outcome = operations.unsubscribe(holder, form.scope.data, _context("link", holder))
            db.session.commit()
            return _page("unsubscribed.html", holder, token, outcome=outcome, reason_form=ReasonForm(),
                         undo_form=UndoForm(scope=outcome.scope))
    # One-click: no session is read or written, so no cookie is set; the body cannot retarget.
    operations.unsubscribe(holder, operations.LIST, _context("one_click", holder))
    db.session.commit()
    return _page("one_click.html", holder, token), 200


@bp.post("/unsubscribe/<token>/reason")
@_per_link
@private
def unsubscribe_reason(token: str):
    """Keep the optional reason given after unsubscribing."""
    holder = _holder("unsubscribe", token)
    form = ReasonForm()
    if form.validate() and form.reason.data:
        operations.record_reason(holder, form.reason.data, _context("link", holder))
        db.session.commit()
    return _page("thanks.html", holder, token)


@bp.post("/unsubscribe/<token>/undo")
@_per_link
@private
def unsubscribe_undo(token: str):
    """Undo an unsubscribe (only lists the person had confirmed come back)."""
    holder = _holder("unsubscribe", token)
    form = UndoForm()
    scope = form.scope.data if form.validate() else operations.LIST
    outcome = operations.undo(holder, scope, _context("link", holder))
    db.session.commit()
    return _page("resubscribed.html", holder, token, outcome=outcome)


@bp.route("/preferences/<token>", methods=["GET", "POST"])
@limiter.limit(config_limit("PORTAL_PREFERENCES_IP_LIMIT"), methods=["POST"])
@private
def preferences(token: str):
    """Every list of the account with the person's own state; change them, or leave all."""
    holder = _holder("preferences", token)
    form = PreferencesForm()
    saved = False
    if request.method == "POST" and form.validate():
        if form.unsubscribe_all.data:
            operations.unsubscribe(holder, operations.ACCOUNT, _context("preferences", holder))
        else:
            centre.save(holder, set(form.lists.data or []), _context("preferences", holder))
        db.session.commit()
        saved = True
    return _page("preferences.html", holder, token, form=form, states=centre.states(holder), saved=saved)
