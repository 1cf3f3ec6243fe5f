"""Unsubscribe pages (RFC 8058 one-click on the same URL) and the preference centre.

No form here needs a cookie: the URL token is the credential, and each form's anti-forgery
value is bound to the token and the form's purpose (:mod:`portal.antiforgery`).
``POST /unsubscribe/<token>`` serves both the page's own form and RFC 8058: a body with the
page's ``scope`` field (and no ``List-Unsubscribe`` field) is a person choosing, honoured as
chosen or refused with the choice kept, never narrowed; anything else is a one-click
unsubscribe from the token's list, whatever other fields or cookies come with it.
"""
from __future__ import annotations

import hashlib

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext

from portal import links
from portal.addresses import InvalidAddress, try_normalise
from portal.consent.evidence import RequestEvidence
from portal.errors import FormUnverified, PayloadTooLarge, TokenExpired, TokenInvalid
from portal.extensions import csrf, limiter
from portal.fields import address_message
from portal.preferences import centre, operations, recovery, undo as undoing
from portal.preferences.forms import (ManageLinkForm, PreferencesForm, ReasonForm, RejoinForm, UndoForm,
                                      UnsubscribeForm, manage_form)
from portal.subscriptions.holders import Holder, resolve
from portal.web import config_limit, private, token_key, use_account, writes

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


def _context(source: str, holder: Holder) -> RequestEvidence:
    return RequestEvidence(source, ip=request.remote_addr, user_agent=request.headers.get("User-Agent"),
                   message_ref=holder.message_ref)


def _target(holder: Holder) -> links.Target:
    return links.Target(holder.contact.id, holder.mailing_list.id if holder.mailing_list else None,
                        holder.message_ref)


def _page(template: str, holder: Holder, token: str, **context):
    target = _target(holder)
    return render_template(f"preferences/{template}", account=holder.account, holder=holder, token=token,
                           address=holder.contact.email, preferences_url=links.preferences_url(target),
                           complaint_url=links.complaint_url(target), **context)


@bp.get("/unsubscribe/<token>")
@private
def unsubscribe_page(token: str):
    """The choice (this list, or everything), or once left, where the person stands and what they
    can do; changes nothing (scanners fetch every link)."""
    holder = _holder("unsubscribe", token)
    scope = operations.left_scope(holder)
    if scope is None:
        return _page("unsubscribe.html", holder, token, form=UnsubscribeForm(token, "unsubscribe"))
    undo = undoing.offered_token(holder)
    return _page("unsubscribed.html", holder, token, scope=scope, reason_form=ReasonForm(token, "reason"),
                 undo_form=UndoForm(token, "undo", formdata=None, undo=undo) if undo else None,
                 everything_form=UnsubscribeForm(token, "unsubscribe") if scope == operations.LIST else None)


def _result(endpoint: str, token: str):
    """Post/Redirect/Get: the GET page of a form's result, in the page's language."""
    return redirect(url_for(endpoint, token=token, lang=request.args.get("lang")), code=303)


def _form_fields() -> dict:
    """The posted form fields; a body that does not parse (RFC 8058 §8.3's example) has none."""
    try:
        # Read whatever is posted, of any type, up to the route's small limit: a chunked body is
        # found too large only while it is read, and a body past the limit is refused (413).
        request.get_data(cache=True)
        return request.form.to_dict()
    except PayloadTooLarge:
        raise
    except Exception:  # noqa: BLE001 -- any other unparsable body is a one-click POST
        return {}


def _locale() -> str:
    return str(get_locale() or "en")


def _refused() -> FormUnverified:
    return FormUnverified(gettext("This form could not be checked, so nothing was changed."))


@bp.post("/unsubscribe/<token>")
@csrf.exempt
@_per_link
@private
@writes()
def unsubscribe(token: str):
    """Unsubscribe: the page's own form (person's choice) or an RFC 8058 one-click POST (200)."""
    holder = _holder("unsubscribe", token)
    fields = _form_fields()
    if "scope" in fields and "List-Unsubscribe" not in fields:
        form = UnsubscribeForm(token, "unsubscribe")
        if not form.validate():
            # Refused with the person's choice kept, never narrowed to this list.
            return _page("unsubscribe.html", holder, token, form=form, refused=True), 400
        operations.unsubscribe(holder, form.scope.data, _context("link", holder))
        return _result("preferences.unsubscribe_page", token)
    # One-click: no session is read or written, so no cookie is set; the body cannot retarget.
    operations.unsubscribe(holder, operations.LIST, _context("one_click", holder))
    return _page("one_click.html", holder, token), 200


@bp.post("/unsubscribe/<token>/reason")
@csrf.exempt
@_per_link
@private
@writes()
def unsubscribe_reason(token: str):
    """Keep the optional reason given after unsubscribing."""
    holder = _holder("unsubscribe", token)
    form = ReasonForm(token, "reason")
    if not form.validate():
        if form.forged:
            raise _refused()
    elif form.reason.data:
        operations.record_reason(holder, form.reason.data, _context("link", holder))
    return _result("preferences.unsubscribe_thanks", token)


@bp.get("/unsubscribe/<token>/thanks")
@private
def unsubscribe_thanks(token: str):
    """The answer to the reason form (a GET page: reload and Back never post it again)."""
    return _page("thanks.html", _holder("unsubscribe", token), token)


@bp.post("/unsubscribe/<token>/undo")
@csrf.exempt
@_per_link
@private
@writes()
def unsubscribe_undo(token: str):
    """Undo the unsubscribe whose answer page carried the undo token, within its window.

    After the window the page offers a confirmation mail instead; a token of another event, a
    tampered or replayed one: the invalid-link page, nothing changed.
    """
    holder = _holder("unsubscribe", token)
    form = UndoForm(token, "undo")
    if not form.validate():
        raise _refused()
    try:
        event = undoing.undoable_event(holder, form.undo.data)
    except TokenExpired:
        undoing.expired_undo_event(holder, form.undo.data)
        return _page("undo_expired.html", holder, token, form=RejoinForm(token, "rejoin", undo=form.undo.data)), 410
    operations.undo(holder, event, _context("link", holder))
    return _result("preferences.unsubscribe_undone", token)


@bp.get("/unsubscribe/<token>/undone")
@private
def unsubscribe_undone(token: str):
    """The undo's answer while it is the person's latest event; otherwise where they stand now."""
    holder = _holder("unsubscribe", token)
    if not undoing.last_undone(holder):
        return _result("preferences.unsubscribe_page", token)
    return _page("resubscribed.html", holder, token)


@bp.post("/unsubscribe/<token>/rejoin")
@csrf.exempt
@_per_link
@private
@writes()
def unsubscribe_rejoin(token: str):
    """After the undo window: mail a confirmation link for the lists that unsubscribe ended."""
    holder = _holder("unsubscribe", token)
    form = RejoinForm(token, "rejoin")
    if not form.validate():
        raise _refused()
    event = undoing.expired_undo_event(holder, form.undo.data)
    operations.request_rejoin(holder, _rejoinable(holder, event), _context("link", holder), source="undo",
                          locale=_locale())
    return _result("preferences.unsubscribe_rejoin_sent", token)


@bp.get("/unsubscribe/<token>/rejoin/sent")
@private
def unsubscribe_rejoin_sent(token: str):
    """The same page whether or not a mail went out: it tells nothing about the address."""
    return _page("rejoin_sent.html", _holder("unsubscribe", token), token)


def _rejoinable(holder: Holder, event) -> list[str]:
    """The lists an unsubscribe ended, or for an "everything" that ended none, the token's list."""
    lists = undoing.lists_of(event)
    if not lists and holder.mailing_list is not None:
        lists = [holder.mailing_list.id]
    return lists


@bp.route("/preferences/<token>", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit(config_limit("PORTAL_PREFERENCES_IP_LIMIT"), methods=["POST"])
@private
@writes()
def preferences(token: str):
    """Every list of the account with the person's own state; leave them, ask to join, or leave all."""
    holder = _holder("preferences", token)
    form = PreferencesForm(token, "preferences")
    if request.method == "POST":
        if not form.validate():
            raise _refused()
        if form.unsubscribe_all.data:
            outcome = operations.unsubscribe(holder, operations.ACCOUNT, _context("preferences", holder))
        else:
            outcome = operations.save(holder, set(form.lists.data or []), _context("preferences", holder),
                                  locale=_locale())
        return _saved(token, outcome)
    return _page("preferences.html", holder, token, form=form, states=centre.states(holder),
                 saved=request.args.get("saved") == "1", asked=request.args.get("asked") == "1",
                 held=request.args.get("held") == "1")


def _saved(token: str, outcome: operations.PreferenceOutcome):
    """Post/Redirect/Get: the centre as it now stands, saying what the save did (``?saved=1``,
    and ``asked``/``held`` for the confirmation mails), in the page's language."""
    flags = {"saved": 1, "asked": 1 if outcome.asked else None, "held": 1 if outcome.held else None}
    return redirect(url_for("preferences.preferences", token=token, lang=request.args.get("lang"), **flags),
                    code=303)


# --- "send me a link to manage my subscriptions" -----------------------------------------

def _manage_address_key() -> str:
    """The per-address rate-limit key: a hash of the normalised address (never the address itself)."""
    raw = request.form.get("email", "")
    address = (try_normalise(raw) or raw.strip()[:320]).lower()
    return "manage-address:" + hashlib.sha256(address.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _manage_page(form: ManageLinkForm, account, **context):
    use_account(account)
    return render_template("preferences/manage.html", manage_form=form, account=account, **context)


@bp.get("/manage")
def manage_page():
    """The "send me a link" form on a page of its own (the invalid-link pages carry it too)."""
    return _manage_page(manage_form(None), None)


@bp.post("/manage")
@csrf.exempt
@limiter.limit(config_limit("PORTAL_MANAGE_IP_LIMIT"))
@limiter.limit(config_limit("PORTAL_MANAGE_ADDRESS_LIMIT"), key_func=_manage_address_key)
@writes(min_seconds="PORTAL_MANAGE_MIN_SECONDS")
def manage_send():
    """Mail the address its preference links; the same answer, no sooner than a fixed time, whatever it is."""
    value = request.form.get("sender", "")
    try:
        account = recovery.sender_of(value)
    except TokenInvalid:
        raise _refused() from None
    form = ManageLinkForm(value, "manage")
    if not form.validate():
        if form.forged:
            raise _refused()
        return _manage_page(form, account), 422
    try:
        operations.queue_links(form.email.data, account, locale=_locale())
    except InvalidAddress:
        form.email.errors = [address_message(form.email.data)]
        return _manage_page(form, account), 422
    return redirect(url_for("preferences.manage_sent", lang=request.args.get("lang")), code=303)


@bp.get("/manage/sent")
def manage_sent():
    """The one answer of the form, whatever the address: look in your inbox."""
    return render_template("preferences/manage_sent.html", account=None)
